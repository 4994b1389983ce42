#version 450
#include "conv3d_template.glsl"
