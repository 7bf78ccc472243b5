"""Gradients of the convolutions and pools, as TensorFlow 2.21's CPU kernels compute them;
one module per noun, and importing the package registers them.

- ``conv_grad``: Conv2DBackpropInput, Conv2DBackpropFilter
- ``depthwise_grad``: DepthwiseConv2dNativeBackpropInput, DepthwiseConv2dNativeBackpropFilter
- ``pool_grad``: MaxPoolGrad, MaxPoolGradV2, AvgPoolGrad
- ``_common``: their windows (``conv.window``) and TF's checks of padding and sizes

The forward ops are in ``conv``; the fused batch norms and their gradients in ``norm_ops``.
Each module's docstring says where TF's kernels differ from the textbook gradient.
"""

from . import conv_grad, depthwise_grad, pool_grad

__all__ = ["conv_grad", "depthwise_grad", "pool_grad"]
