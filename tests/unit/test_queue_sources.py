from jobdeck.integrations.queues import BrokerHealth, QueueSource, QueueSources, QueueState, redact_url


def test_redact_url_drops_credentials_and_keeps_host_port_and_db() -> None:
    assert redact_url("redis://user:secret@10.0.0.5:6380/2") == "redis://10.0.0.5:6380/2"
    assert redact_url("amqp://guest:guest@127.0.0.1:5672//") == "amqp://127.0.0.1:5672//"
    assert redact_url("redis://[::1]:6379/0?ssl=1") == "redis://[::1]:6379/0"


def test_queue_state_json_shape_and_sources_keep_order() -> None:
    state = QueueState("default", "celery", "redis://h:6379/0", {"waiting": 3, "active": 1})
    assert state.as_json() == {
        "name": "default",
        "system": "celery",
        "broker": "redis://h:6379/0",
        "counts": {"waiting": 3, "active": 1},
        "paused": False,
    }
    sources = QueueSources()
    assert list(sources) == []
    first, second = _Source("redis://a"), _Source("redis://b")
    sources.add(first)
    sources.add(second)
    assert [source.broker for source in sources] == ["redis://a", "redis://b"]
    assert isinstance(first, QueueSource)


class _Source:
    system = "rq"

    def __init__(self, broker: str) -> None:
        self.broker = broker

    def queues(self) -> list[QueueState]:
        return []

    def health(self) -> BrokerHealth:
        return BrokerHealth(self.system, self.broker, reachable=True, rtt_ms=0.1)
