"""Fixtures of the doctor tests: a chain site.yml converged once per worker, restored before each test."""

import shutil

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


@pytest.fixture
def converged_tmp(sandbox, doctor_converged, tmp_path):
    """The chain site.yml converged once per worker (tests/integration/conftest.py), restored, with its kubeconfig
    in tmp_path: the tests that start from a converged chain skip a converge of their own."""
    sandbox.restore(doctor_converged["snapshot"])
    shutil.copy2(doctor_converged["workdir"] / "kubeconfig", tmp_path / "kubeconfig")
    return tmp_path
