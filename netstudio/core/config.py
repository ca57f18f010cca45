"""The one schema of the project file's data and training sections (see DataConfig, TrainConfig)."""
