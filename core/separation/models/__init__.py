"""The networks: U-Nets for the F0 saliency and the vocal mask, and their joint configurations;
the time-domain Wave-U-Net baseline."""
from .joint import (ARCHITECTURES, SPECTROGRAM_ARCHITECTURES, JointModel, ModelConfig,
                    ModelOutput, build_model, count_parameters)

__all__ = ["ARCHITECTURES", "SPECTROGRAM_ARCHITECTURES", "JointModel", "ModelConfig",
           "ModelOutput", "build_model", "count_parameters"]
