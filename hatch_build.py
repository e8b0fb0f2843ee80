"""A build hook: refuse to build a wheel or sdist without the dashboard's front-end files.

They come from npm (`make assets`) and are not in git, so a build from a fresh clone would
otherwise ship a dashboard without htmx and ECharts, and /docs without Swagger UI. An editable
install is let through: it serves the files from the source tree, where `make assets` puts them
afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

VENDOR = Path("src/jobdeck/web/static/vendor")
REQUIRED = ("htmx.min.js", "echarts.min.js", "swagger-ui-bundle.js", "swagger-ui.css")


class FrontEndFilesHook(BuildHookInterface):  # type: ignore[type-arg]
    """Checks that every file the pages load from static/vendor is there and not empty."""

    PLUGIN_NAME = "front-end-files"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "editable":
            return
        folder = Path(self.root) / VENDOR
        missing = [name for name in REQUIRED if not _present(folder / name)]
        if missing:
            raise RuntimeError(
                f"cannot build the {self.target_name}: the dashboard's front-end files are missing from "
                f"{VENDOR} ({', '.join(missing)}). Run `make assets` (needs Node.js and npm) first, "
                "or build with `make dist`."
            )


def _present(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0
