"""The step driver that plays EMR for the emulator (fruits.rehearsal.emr_step_driver) reads
moto's clusters from its own thread while moto's server thread may be building one: moto
registers a cluster at the start of its constructor, before its creation time and state. The
driver's thread died on such a cluster (AttributeError: no creation_datetime), and the run it
drove never got its cluster started: a test failed only when the two threads met."""
from __future__ import annotations

from moto.emr import models as moto_emr_models
from moto.emr.models import emr_backends

from fruits.rehearsal.emr_step_driver import ACCOUNT, EmrStepDriver


def test_a_cluster_still_being_built_is_left_for_the_next_look():
    clusters = emr_backends[ACCOUNT]["eu-west-3"].clusters
    half_built = object.__new__(moto_emr_models.Cluster)  # registered, constructor not yet past its first lines
    half_built.id = "j-HALFBUILT0001"
    clusters[half_built.id] = half_built
    try:
        assert half_built.id not in {cluster.id for cluster in EmrStepDriver().clusters()}
    finally:
        del clusters[half_built.id]
