"""The noise schedules against the values they had and against MONAI's independent DDPMScheduler."""
import pytest
import torch

from augbench.generators._diffusion import alphas_cumprod

# Values of the hand-written implementation at commit 1d45d78 (abar at index 0, T // 2, T - 1),
# unchanged since: tolerance 1e-12 relative, float64 round-off only.
OLD = {
    ("cosine", 1000): (0.999958715775178, 0.49228517244880304, 2.4287669070348567e-09),
    ("linear", 1000): (0.9999, 0.07779665836502389, 4.0358297653756754e-05),
    ("cosine", 50): (0.9982524864661346, 0.46270686201731814, 9.71193029871257e-07),
    ("linear", 50): (0.998, 0.05492151159660928, 7.744765699226731e-06),
}


@pytest.mark.parametrize("schedule,timesteps", sorted(OLD))
def test_schedule_keeps_its_values(schedule, timesteps):
    abar = alphas_cumprod(schedule, timesteps)
    assert abar.dtype == torch.float64
    got = [float(abar[i]) for i in (0, timesteps // 2, timesteps - 1)]
    assert got == pytest.approx(OLD[(schedule, timesteps)], rel=1e-12)


@pytest.mark.parametrize("schedule,timesteps", sorted(OLD))
def test_schedule_agrees_with_monai_to_float32_precision(schedule, timesteps):
    """MONAI's float32 schedule: measured max |difference| 4.2e-7; 5e-7 allowed."""
    from monai.networks.schedulers import DDPMScheduler

    kw = {} if schedule == "cosine" else {"beta_start": 1e-4 * 1000 / timesteps, "beta_end": 0.02 * 1000 / timesteps}
    theirs = DDPMScheduler(num_train_timesteps=timesteps, schedule="cosine" if schedule == "cosine" else "linear_beta",
                           **kw).alphas_cumprod.double()
    assert (theirs - alphas_cumprod(schedule, timesteps)).abs().max() < 5e-7
