// Workgroup sum and max of one value per thread, for the row kernels (one workgroup of ROW_WG
// threads a row: 64, so a reduction is 6 barrier steps).
#define ROW_WG 64
shared float partial[ROW_WG];

float workgroupSum(float v) {
    uint t = gl_LocalInvocationID.x;
    partial[t] = v;
    barrier();
    for (uint s = ROW_WG / 2u; s > 0u; s >>= 1) {
        if (t < s) partial[t] += partial[t + s];
        barrier();
    }
    float total = partial[0];
    barrier();
    return total;
}

float workgroupMax(float v) {
    uint t = gl_LocalInvocationID.x;
    partial[t] = v;
    barrier();
    for (uint s = ROW_WG / 2u; s > 0u; s >>= 1) {
        if (t < s) partial[t] = max(partial[t], partial[t + s]);
        barrier();
    }
    float total = partial[0];
    barrier();
    return total;
}
