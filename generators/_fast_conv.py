"""A conv2d with a hand-written backward, for critics under a gradient penalty.

The penalty differentiates the critic's input gradient once more; PyTorch's generic conv
double-backward is slow on CPU for that (see ``_PenaltyConvFn``), and this module has the one job
of making it cheap without changing the result (tests compare it against plain ``nn.Conv2d``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _PenaltyConvFn(torch.autograd.Function):
    """conv2d whose input gradient is a plain ``conv_transpose2d``.

    The gradient penalty differentiates the critic's input gradient once more. PyTorch's generic
    conv double-backward computes that weight derivative as a convolution with batch and channels
    swapped (a 16x16 kernel over a 64-channel "batch"), which is slow on CPU and copies whole
    activations; expressed as conv_transpose2d, the second derivative uses the ordinary fast
    kernels. ``weight_grads=False`` skips the weight/bias gradients of the penalty's *inner*
    backward, where only the input gradient is requested.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride: int, padding: int, weight_grads: bool):
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding, ctx.weight_grads = stride, padding, weight_grads
        return F.conv2d(x, weight, bias, stride, padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        s, p = ctx.stride, ctx.padding
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            k = weight.shape[-1]
            extra = [x.shape[d] - ((grad_out.shape[d] - 1) * s - 2 * p + k) for d in (-2, -1)]
            grad_x = F.conv_transpose2d(grad_out, weight, None, s, p, extra)
        if ctx.weight_grads and ctx.needs_input_grad[1]:
            grad_w = torch.ops.aten.convolution_backward(
                grad_out, x, weight, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, [False, True, False])[1]
        if ctx.weight_grads and ctx.needs_input_grad[2]:
            grad_b = grad_out.sum((0, 2, 3))
        return grad_x, grad_w, grad_b, None, None, None


class PenaltyConv2d(nn.Conv2d):
    """Conv2d for the critic: same parameters and forward, a penalty-friendly backward (above)."""

    weight_grads = True  # switched off by Critic.input_gradients_only()

    def forward(self, x):
        if not torch.is_grad_enabled():
            return super().forward(x)
        w, b, dev = self.weight, self.bias, x.device.type
        if torch.is_autocast_enabled(dev):  # a custom Function sees no autocast: cast as conv2d would
            dtype = torch.get_autocast_dtype(dev)
            x, w, b = x.to(dtype), w.to(dtype), b.to(dtype)
        with torch.autocast(dev, enabled=False):
            return _PenaltyConvFn.apply(x, w, b, self.stride[0], self.padding[0], self.weight_grads)
