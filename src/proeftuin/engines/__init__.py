"""The engines that turn a pilot's data into a model."""
