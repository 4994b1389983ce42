// A small Vulkan compute runtime for WandTensor's Vulkan backend. libvulkan.so.1 is opened with
// dlopen at run time (no link-time dependency: the binary runs, on the CPU, where there is no
// Vulkan at all). One context = one logical device with one compute queue; work is recorded into
// one command buffer (a barrier after every dispatch) and submitted when the host needs a result.
// Every call on a context is serialized by the context's mutex.
#ifndef WAND_VULKAN_H
#define WAND_VULKAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wvk_context wvk_context;
typedef struct wvk_buffer wvk_buffer;
typedef struct wvk_pipeline wvk_pipeline;

/// VkPhysicalDeviceType values.
enum { WVK_DEVICE_OTHER = 0, WVK_DEVICE_INTEGRATED = 1, WVK_DEVICE_DISCRETE = 2, WVK_DEVICE_VIRTUAL = 3, WVK_DEVICE_CPU = 4 };

typedef struct {
    char name[256];
    int32_t type;
    uint32_t vendor_id, device_id, api_version;
    /// Size of the largest device-local memory heap.
    uint64_t device_local_bytes;
    uint32_t subgroup_size;
    uint32_t max_shared_memory;
    uint64_t max_storage_buffer_range;
    uint32_t max_workgroup_count_x;
    uint32_t push_constant_bytes;
    /// A device-local memory type is also host visible and coherent and the device shares the
    /// host's memory (CPU or integrated): buffers are mapped instead of copied through staging.
    int32_t unified_memory;
    /// VK_NV_cooperative_matrix is there (reported, not used yet).
    int32_t nv_cooperative_matrix;
} wvk_device_info;

/// Error text goes into `error` (at most `error_size` bytes, NUL-terminated) when a call fails.

/// Opens libvulkan.so.1 once per process. 0 on success.
int wvk_open_loader(char *error, size_t error_size);
/// Number of physical devices (creates the process's instance on first use); -1 on error.
int wvk_device_count(char *error, size_t error_size);
int wvk_device_info_at(int index, wvk_device_info *info, char *error, size_t error_size);

/// `force_staging`: copy through staging buffers even on unified memory (tests the discrete-GPU path).
wvk_context *wvk_context_create(int index, int force_staging, char *error, size_t error_size);
void wvk_context_destroy(wvk_context *ctx);
void wvk_context_info(wvk_context *ctx, wvk_device_info *info);

/// A storage buffer in device memory. `pooled`: it comes from, and goes back to, a cache of
/// recently freed buffers of the same size class (activations); weights use exact-size buffers.
wvk_buffer *wvk_buffer_create(wvk_context *ctx, uint64_t bytes, int pooled, char *error, size_t error_size);
/// Frees the buffer once no recorded work uses it any more.
void wvk_buffer_release(wvk_context *ctx, wvk_buffer *buffer);
uint64_t wvk_buffer_size(const wvk_buffer *buffer);
/// Host -> buffer. Ordered after all work recorded so far.
int wvk_buffer_write(wvk_context *ctx, wvk_buffer *buffer, uint64_t offset, const void *source, uint64_t bytes,
                     char *error, size_t error_size);
/// Buffer -> host; runs all recorded work first.
int wvk_buffer_read(wvk_context *ctx, wvk_buffer *buffer, uint64_t offset, void *destination, uint64_t bytes,
                    char *error, size_t error_size);
/// Buffer -> buffer, recorded: `rows` rows of `row_bytes`, `source_pitch` / `destination_pitch`
/// bytes apart (one row: a plain copy).
int wvk_buffer_copy(wvk_context *ctx, wvk_buffer *source, uint64_t source_offset, uint64_t source_pitch,
                    wvk_buffer *destination, uint64_t destination_offset, uint64_t destination_pitch,
                    uint64_t row_bytes, uint32_t rows, char *error, size_t error_size);

/// A compute pipeline over `bindings` storage buffers (bindings 0..n-1 of set 0) and up to
/// 128 bytes of push constants.
wvk_pipeline *wvk_pipeline_create(wvk_context *ctx, const uint32_t *code, size_t words, uint32_t bindings,
                                  char *error, size_t error_size);

/// Records one dispatch; the buffers bind in order.
int wvk_dispatch(wvk_context *ctx, wvk_pipeline *pipeline, wvk_buffer *const *buffers, uint32_t buffer_count,
                 const void *push, uint32_t push_bytes, uint32_t groups_x, uint32_t groups_y, uint32_t groups_z,
                 char *error, size_t error_size);
/// Submits the recorded work and waits for it.
int wvk_flush(wvk_context *ctx, char *error, size_t error_size);

/// Frees the pooled buffers nobody uses.
void wvk_trim(wvk_context *ctx);
/// Device memory held: live buffers, and pooled free ones.
uint64_t wvk_bytes_live(wvk_context *ctx);
uint64_t wvk_bytes_pooled(wvk_context *ctx);
/// Dispatches and submits so far (for tests and benchmarks).
uint64_t wvk_dispatch_count(wvk_context *ctx);
uint64_t wvk_submit_count(wvk_context *ctx);

#ifdef __cplusplus
}
#endif

#endif
