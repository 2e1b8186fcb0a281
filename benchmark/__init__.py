"""CLI, grid expansion, cell execution, metrics, MLflow tracking, presets and executors."""
