"""Models: difficulty, agent fit, their evaluation, the training pipeline and the model folder."""
