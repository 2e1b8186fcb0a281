"""Turning finished MLflow runs into tables, statistics, plots and an HTML page. Never trains."""
