#version 450
#define TM 2
#include "conv3d_template.glsl"
