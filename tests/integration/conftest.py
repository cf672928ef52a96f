"""Fixtures of the doctor tests: a chain site.yml converged once per worker, restored before each test."""

import pytest

from . import doctor_chain


@pytest.fixture(scope="session")
def doctor_converged(sandbox_session, tmp_path_factory):
    return doctor_chain.converge(sandbox_session, tmp_path_factory.mktemp("doctor-chain"))


@pytest.fixture
def chain(sandbox, doctor_converged, tmp_path):
    """The converged chain, restored (the test may break it), with SDK and Kubernetes clients."""
    sandbox.restore(doctor_converged["snapshot"])
    return doctor_chain.Chain(sandbox, doctor_converged["workdir"], tmp_path)
