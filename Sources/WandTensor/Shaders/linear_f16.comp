#version 450
#define WEIGHT_TYPE uint
#define LOAD_WEIGHT(e) loadHalf(b[(e) >> 1], (e))
#include "linear_template.glsl"
