"""Projects into runs: templates build, train, report and fail clearly."""

import json

import numpy as np
import pytest

from engine import templates
from engine.events import EpochMetrics, ParameterHistograms, SamplePredictions
from engine.network import Network
from engine.project import Project, ProjectError
from engine.run import build_run


@pytest.mark.parametrize("name", sorted(templates.NETWORK_TEMPLATES))
def test_network_templates_build(name):
    spec = templates.NETWORK_TEMPLATES[name]()
    net = Network.from_spec(spec)
    assert json.loads(json.dumps(net.to_spec())) == net.to_spec()
    assert sum(p.size for p in net.parameters().values()) > 0


def test_digits_project_trains_and_reports(tmp_path):
    project = templates.digits_project()
    project.training["epochs"] = 3
    run = build_run(project)
    seen = []
    run.trainer.events.subscribe(seen.append)
    history = run.fit()
    assert len(history) == 3
    assert history[-1]["val_accuracy"] > 0.85
    kinds = {type(e) for e in seen}
    assert {EpochMetrics, SamplePredictions, ParameterHistograms} <= kinds
    samples = [e for e in seen if isinstance(e, SamplePredictions)][-1]
    assert samples.kind == "classification" and samples.predictions.shape == (16, 10)


def test_cat_project_streams_the_image():
    project = templates.cat_project()
    project.training["epochs"] = 1
    run = build_run(project)
    images = []
    run.trainer.events.subscribe(images.append, SamplePredictions)
    run.fit()
    assert images and images[-1].kind == "image"
    assert images[-1].predictions.shape == run.image_shape == (128, 128, 3)


def test_project_round_trip_and_saved_file_builds(tmp_path):
    project = templates.digits_cnn_project()
    path = project.save(tmp_path / "digits.sigma")
    again = Project.load(path)
    assert again.to_dict() == project.to_dict()
    run = build_run(again)
    assert run.trainer.network.input_shapes == {"image": (1, 8, 8)}


def test_data_that_does_not_fit_the_network_is_named():
    project = templates.digits_project()
    project.network = templates.mlp(inputs=100)
    with pytest.raises(ProjectError, match=r"expects records of shape \(100,\).*\(64,\)"):
        build_run(project)


def test_unknown_sample_and_damaged_file(tmp_path):
    project = templates.digits_project()
    project.dataset["source"] = "sample:unicorns"
    with pytest.raises(ProjectError, match="unknown sample dataset 'unicorns'"):
        build_run(project)
    bad = tmp_path / "bad.sigma"
    bad.write_text('{"format": "sigma.project/1", "name": ')
    with pytest.raises(ProjectError, match=r"bad.sigma: not valid JSON at line 1"):
        Project.load(bad)


def test_same_project_same_result():
    results = []
    for _ in range(2):
        project = templates.digits_project()
        project.training["epochs"] = 1
        run = build_run(project)
        run.fit()
        results.append(np.concatenate([p.numpy().ravel() for p in run.trainer.network.parameters().values()]))
    assert np.array_equal(results[0], results[1])
