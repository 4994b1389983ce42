// Shared by every compute shader (glslc -I; the SPIRVShaders plugin rebuilds all shaders when it
// changes). Buffers are bound whole; element offsets and sizes come in push constants.
#define WG 256

// Grid-stride loops: dispatches are capped at 65535 groups in x, so a thread may take several items.
#define GRID_STRIDE (gl_NumWorkGroups.x * gl_WorkGroupSize.x)

// f16 rounding of a float (round to nearest even), for the f16 precision mode's GEMM operands.
float roundF16(float x) { return unpackHalf2x16(packHalf2x16(vec2(x, 0.0))).x; }

// Element i of a buffer of 16-bit values packed two per uint (little-endian: element 0 low).
float loadHalf(uint word, uint i) { return unpackHalf2x16(word)[i & 1u]; }
float loadBF16(uint word, uint i) { return uintBitsToFloat((i & 1u) == 0u ? word << 16 : word & 0xFFFF0000u); }
