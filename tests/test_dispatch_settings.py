"""How many rows a claim takes: 200 by default, fewer when a throttle could not send them in half a lease
(another worker would take the batch over); a number the operator chose that cannot is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from distro.errors import ConfigError
from distro.services.delivery import check_dispatch_settings
from distro.settings import DispatchSettings, load_settings


def test_unset_the_batch_is_what_the_slowest_throttle_sends_in_half_a_lease() -> None:
    assert DispatchSettings().batch_size == 200
    assert DispatchSettings(max_per_second=1).batch_size == 150  # 300 s lease: 150 s of sending
    assert DispatchSettings(max_per_second=14, max_per_second_per_domain=0.5).batch_size == 75
    assert DispatchSettings(max_per_second=0.001).batch_size == 1
    assert DispatchSettings(max_per_second=50).batch_size == 200  # never above the default
    for unset in (DispatchSettings(max_per_second=1), DispatchSettings(max_per_second_per_domain=0.2)):
        check_dispatch_settings(unset)  # the lowered batch passes the check it was lowered for


def test_a_batch_the_operator_chose_is_kept_or_refused_never_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "distro.toml"
    config.write_text("[dispatch]\nbatch_size = 200\nmax_per_second = 1.0\n")
    chosen = load_settings(config).dispatch
    assert chosen.batch_size == 200
    with pytest.raises(ConfigError, match=r"dispatch.batch_size \(200\) at 1.0 messages per second"):
        check_dispatch_settings(chosen)
    monkeypatch.setenv("DISTRO_DISPATCH__BATCH_SIZE", "120")
    assert load_settings(config).dispatch.batch_size == 120
    check_dispatch_settings(load_settings(config).dispatch)
