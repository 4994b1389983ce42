#version 450
#define TM 4
#include "conv3d_template.glsl"
