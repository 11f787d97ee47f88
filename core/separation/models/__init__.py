"""The networks: U-Nets for the F0 saliency and the vocal mask, and their joint configurations."""
from .joint import ARCHITECTURES, JointModel, ModelConfig, ModelOutput, count_parameters

__all__ = ["ARCHITECTURES", "JointModel", "ModelConfig", "ModelOutput", "count_parameters"]
