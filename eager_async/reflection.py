"""Server reflection (``grpc.reflection.v1`` and ``v1alpha``): what lets grpcurl, grpcui
or grpcio's reflection client list a worker's services and read their methods and
messages without the ``.proto`` files.

It answers from the descriptor set built into the package (``make proto`` writes
``_proto/eager_service.desc``, every file the services need) plus grpclib's
``grpc/health/v1/health.proto``. ``WorkerService`` is described whole, as TensorFlow
declares it, although a worker implements only GetStatus and RecvTensor; the others
answer UNIMPLEMENTED. With ``--token-file``, reflection needs a token like any RPC but
health.

>>> GrpcServer(with_reflection([EagerService(runtime), health]))   # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from importlib import resources
from typing import Any

from google.protobuf.descriptor_pb2 import FileDescriptorProto, FileDescriptorSet
from google.protobuf.descriptor_pool import DescriptorPool
from grpclib.health.v1 import health_pb2
from grpclib.reflection.service import ServerReflection

__all__ = ["descriptors", "with_reflection"]


@functools.cache
def descriptors() -> DescriptorPool:
    """A descriptor pool of every file reflection may be asked for (its own, not the
    process's default pool, which an installed TensorFlow may fill with other
    versions of the same files)."""
    pool = DescriptorPool()
    built_in = resources.files("eager_async._proto").joinpath("eager_service.desc")
    for file in FileDescriptorSet.FromString(built_in.read_bytes()).file:
        pool.Add(file)
    health = FileDescriptorProto()
    health_pb2.DESCRIPTOR.CopyToProto(health)
    pool.Add(health)
    return pool


def with_reflection(services: Collection[Any]) -> list[Any]:
    """``services`` (grpclib handlers) and the reflection services that describe them."""
    extended: list[Any] = ServerReflection.extend(services, pool=descriptors())
    return extended
