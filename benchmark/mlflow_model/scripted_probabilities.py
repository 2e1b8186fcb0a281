"""MLflow "model from code" for a classifier saved by augbench: loads the TorchScript graph (uint8
NHWC in, softmax probabilities out) and predicts with torch alone; nothing of augbench is imported."""
import numpy as np
import torch
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel


class ScriptedProbabilities(PythonModel):
    def load_context(self, context):
        self.net = torch.jit.load(context.artifacts["scripted"], map_location="cpu").eval()

    def predict(self, context, model_input, params=None):
        images = np.ascontiguousarray(np.asarray(model_input), dtype=np.uint8)
        with torch.no_grad():
            return self.net(torch.from_numpy(images)).numpy()


set_model(ScriptedProbabilities())
