#version 450
#define WEIGHT_TYPE uint
#define LOAD_WEIGHT(e) loadBF16(b[(e) >> 1], (e))
#include "linear_template.glsl"
