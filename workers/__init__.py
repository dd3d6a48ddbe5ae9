"""The training side: optimizers, tasks, trainers and the Ray Tune trainable.

Importing ``workers`` (or ``tunecost.workers.catalog``) does not import torch, so the API
process can list and validate tasks and optimizers without loading it.
"""
