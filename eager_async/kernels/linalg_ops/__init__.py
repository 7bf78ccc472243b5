"""TensorFlow's linear algebra ops, one module per noun; importing the package registers
them.

- ``products``: MatMul, BatchMatMul, BatchMatMulV2, BatchMatMulV3
- ``einsum``: Einsum
- ``diagonals``: MatrixBandPart, MatrixDiag, MatrixDiagPart, MatrixDiagV3,
  MatrixDiagPartV3 (TF files these under array_ops; they are matrix ops all the same)
- ``solvers``: MatrixInverse, MatrixDeterminant, Cholesky, Qr, MatrixSolve,
  MatrixTriangularSolve

Every op works on the innermost two dims; the leading dims are a batch. The registry has
checked each call against TF's op definition (types, attrs, defaults) before a kernel
runs: what is left is the math and the checks of shapes and values, which a kernel shares
with its shape rule so both fail with TF's message.
"""

from . import diagonals, einsum, products, solvers

__all__ = ["diagonals", "einsum", "products", "solvers"]
