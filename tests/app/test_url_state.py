"""The view in the URL and the photo that follows the user, through Streamlit's AppTest.

A link (``st.query_params``) opens the view it names (zoo, sample, resolution, block, position, Compare's
models); the page writes the view back after every run, so the URL of one session opens the same view in
another; a value that is not one of the choices is ignored with a plain message. An uploaded photo is the
current image of every page until a sample is picked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.pages import lens_data, open_link, open_page

SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "samples"


# every test here runs the page in AppTest for a second or more (pytest --durations)
pytestmark = [pytest.mark.usefixtures("warm_models"), pytest.mark.slow]  # fixture: tests/app/conftest.py


def info_line(at) -> str:
    return next(m.value for m in at.markdown if "model view" in m.value)


def warnings(at) -> str:
    """What the page said about the link (not its other warnings, e.g. a picture that fits no class)."""
    return "\n".join(w.value for w in at.warning if "The link's" in w.value)


def image_captions(at) -> list[str]:
    return [img.caption for element in at.get("image") for img in element.proto.imgs]


def pinned(at) -> tuple[float, float]:
    return tuple(lens_data(at)["position"])


LINK = {"zoo": "cifar10", "sample": "airplane · val_0004", "size": "64", "block": "layer3.2.attn",
        "pos": "0.1000,0.9000"}


def test_a_link_opens_the_view_it_names_and_the_url_follows_the_view():
    at = open_link(LINK)
    assert at.radio(key="explore_zoo").value == "cifar10"
    assert at.selectbox(key="explore_sample_cifar10").value == "airplane · val_0004"
    assert at.select_slider(key="explore_size_cifar10").value == 64
    assert at.selectbox(key="explore_block_cifar10").value == "layer3.2.attn"
    line = info_line(at)
    assert "sample airplane · val_0004" in line and "model view 64×64" in line and "`layer3.2.attn`" in line
    assert pinned(at) == pytest.approx((0.1, 0.9))
    assert warnings(at) == ""
    assert at.query_params == {**LINK}  # written back as it was read

    # The user changes the view: the URL follows, and a new session opened on that URL shows the same view.
    at.select_slider(key="explore_size_cifar10").set_value(96).run()
    at.selectbox(key="explore_block_cifar10").set_value("layer2.2.attn").run()
    assert at.query_params["size"] == "96" and at.query_params["block"] == "layer2.2.attn"
    shared = dict(at.query_params)
    again = open_link(shared)
    assert info_line(again) == info_line(at)
    assert pinned(again) == pytest.approx(pinned(at))
    assert again.query_params == shared


def test_a_pinned_position_goes_into_the_url():
    at = open_link({"zoo": "cifar10"})
    assert at.query_params["pos"] == "0.5000,0.5000"
    # where app.lens stores a click on the lens (app.common.clicked_position's store)
    at.session_state["a2lens_position"] = {"shared": (0.25, 0.75)}
    at.run()
    assert at.query_params["pos"] == "0.2500,0.7500"
    assert open_link(dict(at.query_params)).query_params["pos"] == "0.2500,0.7500"


def test_invalid_values_are_ignored_with_a_plain_message():
    at = open_link({"zoo": "bogus", "size": "7", "block": "layer9", "pos": "2,x", "sample": "unicorn"})
    assert not at.error
    said = warnings(at)
    assert "`zoo=bogus` was ignored" in said and "cifar10" in said and "imagenette" in said
    assert "`size=7` was ignored" in said and "160" in said
    assert "`block=layer9` was ignored" in said
    assert "`pos=2,x` was ignored" in said
    assert "`sample=unicorn` was ignored" in said
    # the app opened on its defaults, and the URL now names what is shown (the bad values are gone)
    assert at.radio(key="explore_zoo").value == "imagenette"
    assert at.query_params["zoo"] == "imagenette" and at.query_params["size"] == "160"
    assert at.query_params["pos"] == "0.5000,0.5000"
    # said once: the next run of the page does not repeat it
    at.run()
    assert warnings(at) == ""


def test_compare_restores_its_models_size_and_block():
    link = {"zoo": "cifar10", "size": "64", "block": "layer3.2.attn", "models": "gc_resnet,a2_resnet",
            "pos": "0.2500,0.2500"}
    at = open_link(link, "compare")
    assert at.multiselect(key="cmp_archs_cifar10").value == ["gc_resnet", "a2_resnet"]
    assert at.select_slider(key="cmp_size_cifar10").value == 64
    assert at.radio(key="cmp_block_cifar10").value == "layer3.2.attn"
    assert [c["kind"] for c in lens_data(at)["cards"]] == ["context", "a2"]
    assert at.query_params == {**link, "sample": "cat · val_0000"}
    # an unknown model is named and left out; the known one is kept
    at = open_link({"zoo": "cifar10", "models": "a2_resnet,bogus_resnet"}, "compare")
    assert at.multiselect(key="cmp_archs_cifar10").value == ["a2_resnet"]
    assert "bogus_resnet is not among this zoo's models" in warnings(at)


def test_learn_restores_its_block():
    at = open_link({"zoo": "cifar10", "block": "layer3.2.attn"})  # Explore first (Learn links to the other pages)
    at.switch_page("views/learn.py").run()
    assert not at.exception
    assert at.radio(key="learn_block_cifar10").value == "layer3.2.attn"
    assert at.query_params["block"] == "layer3.2.attn" and at.query_params["zoo"] == "cifar10"


def test_the_uploaded_photo_follows_to_compare_and_learn_until_a_sample_is_picked():
    photo = (SAMPLES / "ship" / "val_0002.jpg").read_bytes()
    at = open_page()  # Explore on CIFAR-10's cat
    at.file_uploader(key="explore_upload").upload("my_ship.jpg", photo, "image/jpeg").run()
    assert not at.exception and "my_ship.jpg" in info_line(at)
    assert "sample" not in at.query_params  # a photo cannot travel in a link

    at.switch_page("views/compare.py").run()
    assert not at.exception
    cards = lens_data(at)["cards"]
    assert any("Showing **my_ship.jpg**, taken on Explore" in c.value for c in at.caption)
    # Compare runs its models on the photo: the same predictions as a session that uploads it on Compare
    fresh = open_page("compare")
    sample_cards = lens_data(fresh)["cards"]
    fresh.file_uploader(key="compare_upload").upload("my_ship.jpg", photo, "image/jpeg").run()
    assert [c["prediction"] for c in cards] == [c["prediction"] for c in lens_data(fresh)["cards"]]
    assert [c["prediction"] for c in cards] != [c["prediction"] for c in sample_cards]

    at.switch_page("views/learn.py").run()
    assert not at.exception
    # Learn's tensors come from the photo: its model view is the photo's
    assert "what the model sees (my_ship.jpg)" in image_captions(at), image_captions(at)

    # Picking a sample (on any page) goes back to the samples everywhere.
    at.selectbox(key="learn_sample_cifar10").set_value("airplane · val_0004").run()
    assert "what the model sees (sample airplane · val_0004)" in image_captions(at), image_captions(at)
    at.switch_page("views/explore.py").run()
    assert "my_ship.jpg" not in info_line(at) and "sample" in info_line(at)
