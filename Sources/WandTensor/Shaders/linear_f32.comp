#version 450
#define WEIGHT_TYPE float
#define LOAD_WEIGHT(e) b[e]
#include "linear_template.glsl"
