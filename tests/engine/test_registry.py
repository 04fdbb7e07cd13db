"""Tests of the nested registry: identifiers, wildcards, tags, listeners, copies, threads."""

import threading

import pytest

from engine.registry import Registry, RegistryError


def make():
    r = Registry()
    r.set("network.layers.fc1.weights", "W1")
    r.set("network.layers.fc1.bias", "b1")
    r.set("network.layers.conv1.weights", "W2")
    r.set("network.layers.bn1.gamma", "g")
    r.tag("network.layers.fc1", "trainable", "dense")
    r.tag("network.layers.conv1", "trainable")
    r.set("optimiser.learning_rate", 0.01)
    return r


def test_get_set_nested():
    r = make()
    assert r.get("optimiser.learning_rate") == 0.01
    assert r["network.layers.fc1.bias"] == "b1"
    sub = r.get("network.layers")
    assert isinstance(sub, Registry) and sub.path == "network.layers"
    assert sub.get("conv1.weights") == "W2"
    assert "network.layers.fc1" in r and "network.nope" not in r
    assert r.get("missing.key", None) is None
    with pytest.raises(RegistryError, match="Nothing registered at 'network.layers.fc9'"):
        r.get("network.layers.fc9")


def test_wildcards_and_tags():
    r = make()
    assert r.resolve("network.layers.*.weights") == [
        "network.layers.fc1.weights",
        "network.layers.conv1.weights",
    ]
    assert r.resolve("network.layers.*<trainable>.weights") == [
        "network.layers.fc1.weights",
        "network.layers.conv1.weights",
    ]
    assert r.resolve("network.layers.*<trainable,dense>.*") == [
        "network.layers.fc1.weights",
        "network.layers.fc1.bias",
    ]
    assert r.resolve("network.layers.conv*.*") == ["network.layers.conv1.weights"]
    # '*' never crosses a dot
    assert r.resolve("network.*.weights") == []
    assert r.get_matching("*.learning_rate") == {"optimiser.learning_rate": 0.01}
    assert r.set_matching("network.layers.*.weights", "X") == [
        "network.layers.fc1.weights",
        "network.layers.conv1.weights",
    ]
    assert r.get("network.layers.conv1.weights") == "X"
    assert r.tags("network.layers.fc1") == {"trainable", "dense"}
    assert r.get("network.layers.*<dense>.bias") == {"network.layers.fc1.bias": "b1"}
    assert r.set("network.layers.fc*.bias", "B") == ["network.layers.fc1.bias"]
    assert r.set("optimiser.momentum", 0.9) == ["optimiser.momentum"]
    assert "network.layers.conv*.weights" in r and "network.layers.pool*.weights" not in r
    assert Registry.matches("*.weights", "fc1.weights") and not Registry.matches("*.weights", "a.fc1.weights")


@pytest.mark.parametrize("bad", ["", "a..b", ".a", "a.", None])
def test_bad_identifiers(bad):
    with pytest.raises(RegistryError, match="Invalid registry identifier"):
        Registry().set(bad, 1)


def test_bad_pattern_and_nesting_under_value():
    r = make()
    with pytest.raises(RegistryError, match="Invalid registry pattern"):
        r.resolve("a.<x>")
    with pytest.raises(RegistryError, match="holds a value"):
        r.set("optimiser.learning_rate.x", 1)


def test_listeners_see_changes_with_full_identifiers():
    r = make()
    seen, filtered = [], []
    token = r.add_listener(lambda i, o, n: seen.append((i, o, n)))
    r.add_listener(lambda i, o, n: filtered.append(i), pattern="optimiser.*")
    r.set("optimiser.learning_rate", 0.1)
    r.get("network.layers").set("fc1.bias", "b2")  # through a nested registry
    assert seen == [("optimiser.learning_rate", 0.01, 0.1), ("network.layers.fc1.bias", "b1", "b2")]
    assert filtered == ["optimiser.learning_rate"]
    r.remove_listener(token)
    r.set("optimiser.learning_rate", 0.2)
    assert len(seen) == 2 and filtered[-1] == "optimiser.learning_rate"
    r.remove("optimiser.learning_rate")
    assert "optimiser.learning_rate" not in r


def test_listener_may_use_registry():
    r = make()
    r.add_listener(lambda i, o, n: r.set("echo.last", i) if not i.startswith("echo") else None)
    r.set("optimiser.momentum", 0.9)
    assert r.get("echo.last") == "optimiser.momentum"


def test_copy_is_independent():
    r = make()
    calls = []
    r.add_listener(lambda *a: calls.append(a))
    local = r.copy()
    local.set("optimiser.learning_rate", 0.5)
    assert r.get("optimiser.learning_rate") == 0.01 and local.get("optimiser.learning_rate") == 0.5
    assert local.tags("network.layers.fc1") == {"trainable", "dense"}
    assert local.get("network.layers.fc1.weights") == "W1"
    assert calls == []
    assert local.to_dict()["network.layers.bn1.gamma"] == "g"


def test_threads_setting_concurrently():
    r = Registry()
    count = []
    lock = threading.Lock()

    def listener(i, o, n):
        with lock:
            count.append(i)

    r.add_listener(listener)
    start = threading.Barrier(4)

    def work(k):
        start.wait()
        for j in range(200):
            r.set(f"worker{k}.step", j)
            r.set("shared.value", (k, j))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(count) == 4 * 200 * 2
    assert all(r.get(f"worker{k}.step") == 199 for k in range(4))
