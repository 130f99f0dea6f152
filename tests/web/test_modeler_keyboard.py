"""The modeler loads without console errors about its configuration (bpmn-js dropped
`keyboard.bindTo`) and its keyboard is bound, to its own canvas, the current way."""
from __future__ import annotations

from .test_designer_pages import _edit_in_modeler, _sign_in, designer  # noqa: F401  (a fixture)


def test_the_modeler_binds_its_keyboard_without_a_deprecation_error(page, designer):  # noqa: F811
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    _sign_in(page, designer)
    _edit_in_modeler(page)
    assert not [m for m in messages if "bindTo" in m or "unsupported configuration" in m], messages
    assert page.evaluate("Boolean(window.designerModeler.get('keyboard')._node)")
