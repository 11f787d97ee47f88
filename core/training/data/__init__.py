"""Datasets for training and evaluation, each behind the :class:`~.base.Dataset` interface."""
