#!/usr/bin/env python3
"""Reference trajectories for Wand's flow-matching samplers.

Runs the official wan22 schedulers (FlowUniPCMultistepScheduler, FlowDPMSolverMultistepScheduler)
and the diffusers ones (UniPCMultistepScheduler / DPMSolverMultistepScheduler with flow sigmas,
FlowMatchEulerDiscreteScheduler) on a fixed nonlinear fake velocity model, and writes the
schedules (sigmas, timesteps) and every intermediate latent to
Tests/Fixtures/samplers/trajectories.json.

    ~/refenv/bin/python Tools/reference/sampler_fixtures.py

The fake model must stay identical to FakeVelocityModel in Tests/WandEngineTests:
    v = 0.6 * sin(1.3 * x + 0.002 * t) - 0.25 * x      (float32)
"""
import json, os, sys, types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wan_cpu  # noqa: F401  (must precede the wan imports)

# wan's package __init__ imports its attention module, which wants flash_attn; stub it out.

from wan.utils.fm_solvers import (FlowDPMSolverMultistepScheduler, get_sampling_sigmas,
                                  retrieve_timesteps)
from wan.utils.fm_solvers_unipc import FlowUniPCMultistepScheduler
from diffusers import (DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler,
                       UniPCMultistepScheduler)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "samplers", "trajectories.json")


def fake_velocity(x, t):
    return 0.6 * torch.sin(1.3 * x + 0.002 * float(t)) - 0.25 * x


def make(flavour, steps, shift):
    if flavour == "official-unipc":
        s = FlowUniPCMultistepScheduler(num_train_timesteps=1000, shift=1, use_dynamic_shifting=False)
        s.set_timesteps(steps, device="cpu", shift=shift)
        return s, s.timesteps
    if flavour == "official-dpm++":
        s = FlowDPMSolverMultistepScheduler(num_train_timesteps=1000, shift=1, use_dynamic_shifting=False)
        ts, _ = retrieve_timesteps(s, device="cpu", sigmas=get_sampling_sigmas(steps, shift))
        return s, ts
    if flavour == "diffusers-unipc":
        s = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                    flow_shift=shift, num_train_timesteps=1000)
        s.set_timesteps(steps, device="cpu")
        return s, s.timesteps
    if flavour == "diffusers-dpm++":
        s = DPMSolverMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                        flow_shift=shift, num_train_timesteps=1000,
                                        algorithm_type="dpmsolver++", solver_order=2)
        s.set_timesteps(steps, device="cpu")
        return s, s.timesteps
    if flavour == "diffusers-euler":
        s = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
        s.set_timesteps(steps, device="cpu")
        return s, s.timesteps
    raise ValueError(flavour)


def run(flavour, steps, shift, seed):
    sched, timesteps = make(flavour, steps, shift)
    g = torch.Generator("cpu").manual_seed(seed)
    x = torch.randn((1, 4, 2, 3, 4), generator=g, dtype=torch.float32)
    traj = [x.flatten().tolist()]
    for t in timesteps:
        v = fake_velocity(x, t)
        x = sched.step(v, t, x, return_dict=False)[0]
        traj.append(x.flatten().tolist())
    return {
        "flavour": flavour, "steps": steps, "shift": shift, "seed": seed,
        "timesteps": [float(t) for t in timesteps],
        "sigmas": [float(s) for s in sched.sigmas.to(torch.float32)],
        "trajectory": traj,
    }


cases = []
for flavour, steps, shift in [
    ("official-unipc", 40, 12.0), ("official-unipc", 40, 5.0), ("official-unipc", 50, 5.0),
    ("official-unipc", 8, 3.0), ("official-dpm++", 40, 12.0), ("official-dpm++", 50, 5.0),
    ("official-dpm++", 8, 3.0), ("diffusers-unipc", 20, 5.0), ("diffusers-unipc", 8, 3.0),
    ("diffusers-dpm++", 20, 5.0), ("diffusers-dpm++", 8, 3.0), ("diffusers-euler", 20, 5.0),
    ("diffusers-euler", 8, 3.0),
]:
    cases.append(run(flavour, steps, shift, seed=1234))

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "Tools/reference/sampler_fixtures.py", "torch": torch.__version__,
               "cases": cases}, f)
print("wrote", OUT, os.path.getsize(OUT), "bytes")
