"""Datasets for training and evaluation, each behind the :class:`~core.data.base.Dataset` interface."""
