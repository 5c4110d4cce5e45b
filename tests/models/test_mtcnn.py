"""MTCNN P-, R-, O-Net (netdsl.models.mtcnn_*) against facenet-pytorch's torch modules on a real face.

The torch modules are written here as facenet-pytorch 2.6.0 defines them
(models/mtcnn.py) and load the same state dicts (tests/data/torch/mtcnn);
netdsl runs the zoo models with the shipped weights (weights/mtcnn-*.h5,
converted by tools/convert_zoo_weights.py) on the reference executor.
Input: scikit-image's astronaut, normalised as facenet-pytorch does.
"""
import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from netdsl.reference import execute

from zoo_support import nchw, zoo_network

NORM = dict(scale=0.0078125, offset=127.5)  # facenet-pytorch: (x - 127.5) * 0.0078125


class PNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.softmax4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Softmax(dim=1), nn.Conv2d(32, 4, 1)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), self.softmax4_1(self.conv4_1(x))


class RNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.softmax5_1, self.dense5_2 = nn.Linear(128, 2), nn.Softmax(dim=1), nn.Linear(128, 4)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x)).permute(0, 3, 2, 1).contiguous()
        x = self.prelu4(self.dense4(x.view(x.shape[0], -1)))
        return self.dense5_2(x), self.softmax5_1(self.dense5_1(x))


class ONet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.softmax6_1 = nn.Linear(256, 2), nn.Softmax(dim=1)
        self.dense6_2, self.dense6_3 = nn.Linear(256, 4), nn.Linear(256, 10)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x)).permute(0, 3, 2, 1).contiguous()
        x = self.prelu5(self.dense5(x.view(x.shape[0], -1)))
        return self.dense6_2(x), self.dense6_3(x), self.softmax6_1(self.dense6_1(x))


def _torch(cls, name, data, x):
    model = cls().eval()
    model.load_state_dict(torch.load(data / "torch" / "mtcnn" / f"{name}.pt", weights_only=True))
    with torch.no_grad():
        return [t.numpy() for t in model(torch.from_numpy(x))]


@pytest.mark.parametrize("size", [(95, 95), (130, 151)])
def test_pnet_matches_torch_at_runtime_sizes(data, astronaut, face, size):
    image = face if size == (95, 95) else astronaut.resize((size[1], size[0]), Image.BILINEAR)
    x = nchw(image, **NORM)
    boxes, prob = _torch(PNet, "pnet", data, x)
    got = execute(zoo_network("mtcnn-pnet"), {"images": x})     # one network, runtime height / width
    np.testing.assert_allclose(got["boxes"], boxes, atol=1e-5)
    np.testing.assert_allclose(got["prob"], prob, atol=1e-5)
    if image is face:
        assert prob[0, 1].max() > 0.9                          # the face is found


def test_rnet_and_onet_match_torch_on_the_face(data, face):
    crops = [face.resize((24, 24), Image.BILINEAR), face.transpose(Image.FLIP_LEFT_RIGHT).resize((24, 24))]
    x = np.concatenate([nchw(c, **NORM) for c in crops])
    boxes, prob = _torch(RNet, "rnet", data, x)
    got = execute(zoo_network("mtcnn-rnet"), {"images": x})
    np.testing.assert_allclose(got["boxes"], boxes, atol=1e-5)
    np.testing.assert_allclose(got["prob"], prob, atol=1e-5)
    x = nchw(face.resize((48, 48), Image.BILINEAR), **NORM)
    boxes, landmarks, prob = _torch(ONet, "onet", data, x)
    got = execute(zoo_network("mtcnn-onet"), {"images": x})
    np.testing.assert_allclose(got["boxes"], boxes, atol=1e-5)
    np.testing.assert_allclose(got["landmarks"], landmarks, atol=1e-5)
    np.testing.assert_allclose(got["prob"], prob, atol=1e-5)
    assert prob[0, 1] > 0.9
