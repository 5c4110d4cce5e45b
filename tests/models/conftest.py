"""Fixtures for the zoo tests: shipped weights, the astronaut face crop, and TensorRT-RTX builds (sm86, no GPU)."""
import pytest


from zoo_support import FACE


@pytest.fixture(scope="session")
def astronaut():
    """scikit-image's astronaut (Eileen Collins, NASA, public domain) as a Pillow RGB image; bundled with
    scikit-image, no download."""
    from PIL import Image
    from skimage import data
    return Image.fromarray(data.astronaut())


@pytest.fixture(scope="session")
def face(astronaut):
    """The astronaut's face crop (95 x 95 RGB, Pillow)."""
    x, y, w, h = FACE
    return astronaut.crop((x, y, x + w, y + h))
