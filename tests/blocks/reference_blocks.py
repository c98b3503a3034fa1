"""Test-local references for the designs timm does not have, written from the authors' code, not from a2core.

- ``AuthorsBAM``: Jongchan/attention-module ``MODELS/bam.py`` (nn.Linear + BatchNorm1d channel gate, the
  spatial gate's named convs), with the paper's M_c + M_s where that code multiplies the branches.
- ``AuthorsCrissCross``: speedinghzl/CCNet's pure-PyTorch ``CrissCrossAttention`` (the −∞ diagonal on the
  column energies, the permute/bmm layout, one softmax over the concatenated column and row).
- ``AuthorsTriplet``: landskape-ai/triplet-attention ``triplet_attention.py`` (permute, Z-pool, 7×7 conv + BN).

Each takes its weights from an a2core block by name, so that both compute with the same parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class AuthorsBAM(nn.Module):
    def __init__(self, gate_channel: int, hidden: int, dilation: int = 4):
        super().__init__()
        self.gate_c_fc_0 = nn.Linear(gate_channel, hidden)
        self.gate_c_bn_0 = nn.BatchNorm1d(hidden)
        self.gate_c_fc_final = nn.Linear(hidden, gate_channel)
        self.gate_s_conv_reduce0 = nn.Conv2d(gate_channel, hidden, 1)
        self.gate_s_bn_reduce0 = nn.BatchNorm2d(hidden)
        self.gate_s_conv_di = nn.ModuleList(
            nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation) for _ in range(2))
        self.gate_s_bn_di = nn.ModuleList(nn.BatchNorm2d(hidden) for _ in range(2))
        self.gate_s_conv_final = nn.Conv2d(hidden, 1, 1)

    def load_from(self, block) -> "AuthorsBAM":
        ch, sp = block.channel, block.spatial
        with torch.no_grad():
            self.gate_c_fc_0.weight.copy_(ch[0].weight[:, :, 0, 0]); self.gate_c_fc_0.bias.copy_(ch[0].bias)
            self.gate_c_bn_0.load_state_dict(ch[1].state_dict())
            self.gate_c_fc_final.weight.copy_(ch[3].weight[:, :, 0, 0]); self.gate_c_fc_final.bias.copy_(ch[3].bias)
            self.gate_s_conv_reduce0.load_state_dict(sp[0].state_dict())
            self.gate_s_bn_reduce0.load_state_dict(sp[1].state_dict())
            for i in range(2):
                self.gate_s_conv_di[i].load_state_dict(sp[3 + i][0].state_dict())
                self.gate_s_bn_di[i].load_state_dict(sp[3 + i][1].state_dict())
            self.gate_s_conv_final.load_state_dict(sp[5].state_dict())
        return self

    def channel_att(self, x):
        avg = F.avg_pool2d(x, x.size(2), stride=x.size(2)) if x.size(2) == x.size(3) else x.mean((2, 3), True)
        h = F.relu(self.gate_c_bn_0(self.gate_c_fc_0(avg.view(avg.size(0), -1))))
        return self.gate_c_fc_final(h).unsqueeze(2).unsqueeze(3).expand_as(x)

    def spatial_att(self, x):
        h = F.relu(self.gate_s_bn_reduce0(self.gate_s_conv_reduce0(x)))
        for conv, bn in zip(self.gate_s_conv_di, self.gate_s_bn_di):
            h = F.relu(bn(conv(h)))
        return self.gate_s_conv_final(h).expand_as(x)

    def forward(self, x):
        att = 1 + torch.sigmoid(self.channel_att(x) + self.spatial_att(x))  # the paper's sum (eq. 2)
        return att * x


def _inf_diagonal(b: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    return -torch.diag(torch.tensor(float("inf"), dtype=like.dtype).repeat(h), 0).unsqueeze(0).repeat(b * w, 1, 1)


class AuthorsCrissCross(nn.Module):
    """One criss-cross pass, the authors' layout; ``forward`` also returns their ``concate`` attention."""

    def __init__(self, block):
        super().__init__()
        self.query_conv, self.key_conv, self.value_conv = block.query, block.key, block.value
        self.gamma = block.gamma

    def forward(self, x):
        b, _, height, width = x.size()
        q = self.query_conv(x)
        q_h = q.permute(0, 3, 1, 2).contiguous().view(b * width, -1, height).permute(0, 2, 1)
        q_w = q.permute(0, 2, 1, 3).contiguous().view(b * height, -1, width).permute(0, 2, 1)
        k = self.key_conv(x)
        k_h = k.permute(0, 3, 1, 2).contiguous().view(b * width, -1, height)
        k_w = k.permute(0, 2, 1, 3).contiguous().view(b * height, -1, width)
        v = self.value_conv(x)
        v_h = v.permute(0, 3, 1, 2).contiguous().view(b * width, -1, height)
        v_w = v.permute(0, 2, 1, 3).contiguous().view(b * height, -1, width)
        energy_h = (torch.bmm(q_h, k_h) + _inf_diagonal(b, height, width, x)).view(b, width, height, height)
        energy_h = energy_h.permute(0, 2, 1, 3)
        energy_w = torch.bmm(q_w, k_w).view(b, height, width, width)
        concate = F.softmax(torch.cat([energy_h, energy_w], 3), dim=3)
        att_h = concate[:, :, :, 0:height].permute(0, 2, 1, 3).contiguous().view(b * width, height, height)
        att_w = concate[:, :, :, height:height + width].contiguous().view(b * height, width, width)
        out_h = torch.bmm(v_h, att_h.permute(0, 2, 1)).view(b, width, -1, height).permute(0, 2, 3, 1)
        out_w = torch.bmm(v_w, att_w.permute(0, 2, 1)).view(b, height, -1, width).permute(0, 2, 1, 3)
        return self.gamma * (out_h + out_w) + x, concate


class _AttentionGate(nn.Module):
    def __init__(self, conv_bn):
        super().__init__()
        self.conv = conv_bn  # BasicConv(2, 1, 7, padding=3, relu=False): conv (no bias) + BN

    def forward(self, x):
        x_compress = torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)
        return x * torch.sigmoid(self.conv(x_compress))


class AuthorsTriplet(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.cw, self.hc, self.hw = _AttentionGate(block.cw), _AttentionGate(block.hc), _AttentionGate(block.hw)

    def forward(self, x):
        x_out11 = self.cw(x.permute(0, 2, 1, 3).contiguous()).permute(0, 2, 1, 3).contiguous()
        x_out21 = self.hc(x.permute(0, 3, 2, 1).contiguous()).permute(0, 3, 2, 1).contiguous()
        x_out = self.hw(x)
        return 1 / 3 * (x_out + x_out11 + x_out21)
