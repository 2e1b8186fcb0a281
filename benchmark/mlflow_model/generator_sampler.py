"""MLflow "model from code" for a generator fitted by augbench: ``predict`` takes rows of
(label, n) and a ``seed`` param and returns uint8 NHWC images, class by class in row order.

Unlike a classifier, a generator is not one traced graph (a diffusion arm loops over its sampler, a
BAGAN draws from class Gaussians kept beside its decoder), so the model rebuilds the arm with
augbench's own code from its saved weights and samples through ``Generator.resample``: the same
seeding rule as the benchmark, so the fit's seed gives back the very images its cells trained on.
"""
import json

import numpy as np
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel


class GeneratorSampler(PythonModel):
    def load_context(self, context):
        from augbench.generators import create_generator

        with open(context.artifacts["arm"]) as fh:
            arm = json.load(fh)
        self.generator = create_generator(arm["name"]).load(context.artifacts["weights"])

    def predict(self, context, model_input, params=None):
        rows = pd.DataFrame(model_input)
        labels = [int(v) for v in rows["label"]]
        if len(set(labels)) != len(labels):
            raise ValueError("each label may appear in one row only: put all of a class's images in its `n`.")
        counts = dict(zip(labels, (int(v) for v in rows["n"])))
        images, _ = self.generator.resample(counts, seed=int((params or {}).get("seed", 0)))
        return np.ascontiguousarray(images, dtype=np.uint8)


set_model(GeneratorSampler())
