"""The face table: every face switchboard can serve, with the options the settings give it.

The one place that knows all faces. `app.create_app` mounts the enabled ones from here;
tests that must cover every face iterate `FACES`, so a new face cannot ship unlisted.
"""

from __future__ import annotations

from collections.abc import Callable

from switchboard import __version__
from switchboard.api.faces import EnabledFace, FaceSpec
from switchboard.bootstrap import ConfigError
from switchboard.config import Settings
from switchboard.faces import cloudtolocalllm, openai, pluginmind, pocketllm, spoonfeeder
from switchboard.faces import switchboard as native

OptionsFactory = Callable[[Settings], object]


def _pluginmind_options(settings: Settings) -> pluginmind.PluginMindOptions:
    return pluginmind.PluginMindOptions(
        name="switchboard",
        version=__version__,
        git_sha=settings.git_sha,
        cookie=pluginmind.CookiePolicy(
            secure=settings.pluginmind_cookie_secure, domain=settings.pluginmind_cookie_domain
        ),
    )


def _pocketllm_options(settings: Settings) -> pocketllm.PocketLLMOptions:
    return pocketllm.PocketLLMOptions(docs_enabled=settings.docs_enabled)


def _cloudtolocalllm_options(settings: Settings) -> cloudtolocalllm.CloudToLocalLLMOptions:
    return cloudtolocalllm.CloudToLocalLLMOptions(data_dir=settings.resolved_data_dir)


def _no_options(_: Settings) -> None:
    return None


# name -> (spec, options from settings). Order matters: on a shared path the first face's
# error status wins, and routes are matched in this order.
FACES: dict[str, tuple[FaceSpec, OptionsFactory]] = {
    "openai": (openai.FACE, _no_options),
    "pocketllm": (pocketllm.FACE, _pocketllm_options),
    "pluginmind": (pluginmind.FACE, _pluginmind_options),
    "switchboard": (native.FACE, _no_options),
    "spoonfeeder": (spoonfeeder.FACE, _no_options),
    "cloudtolocalllm": (cloudtolocalllm.FACE, _cloudtolocalllm_options),
}


def enabled_faces(settings: Settings) -> list[EnabledFace]:
    """The faces `settings` enables, in table order (every face when it names none).

    A name this build does not serve is a `ConfigError` listing the ones it does.
    """
    wanted = FACES.keys() if settings.faces is None else settings.faces
    unknown = [name for name in wanted if name not in FACES]
    if unknown:
        raise ConfigError(
            f"SWITCHBOARD_FACES names {', '.join(unknown)}, which this build does not serve;"
            f" the faces are: {', '.join(FACES)}"
        )
    return [
        EnabledFace(spec, options(settings))
        for name, (spec, options) in FACES.items()
        if name in wanted
    ]
