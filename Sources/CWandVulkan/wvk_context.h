// The structures behind wand_vulkan.h's handles and the helpers buffers.c and context.c share.
// Functions named *_locked expect the context's mutex to be held.
#ifndef WVK_CONTEXT_H
#define WVK_CONTEXT_H

#include <pthread.h>

#include "wvk_internal.h"

#define WVK_SETS_PER_POOL 1024
#define WVK_MAX_BINDINGS 8
#define WVK_PUSH_BYTES 128
#define WVK_CLASSES 256
/// Bytes of pending staging copies after which a write submits the batch (see wvk_buffer_write).
#define WVK_STAGING_LIMIT (256ull << 20)

struct wvk_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped;          // host pointer when the memory is mapped (unified or staging)
    uint64_t size;         // allocated (the size class when pooled)
    uint64_t requested;
    uint64_t used_batch;   // the batch that last recorded a use of it
    int pooled;
    int host;              // a staging buffer
    struct wvk_buffer *next;
};

struct wvk_pipeline {
    VkPipeline pipeline;
    uint32_t bindings;
    struct wvk_pipeline *next;
};

struct wvk_context {
    pthread_mutex_t lock;
    wvk_device_info info;
    VkPhysicalDevice physical;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    int force_staging;
    int map_device_buffers;
    VkCommandPool command_pool;
    VkCommandBuffer commands;
    VkFence fence;
    VkDescriptorPool descriptor_pool;
    uint32_t sets_used;
    VkDescriptorSetLayout set_layouts[WVK_MAX_BINDINGS + 1];
    VkPipelineLayout pipeline_layouts[WVK_MAX_BINDINGS + 1];
    struct wvk_pipeline *pipelines;
    int recording;
    uint64_t batch;
    struct wvk_buffer *deferred;           // released while busy
    struct wvk_buffer *pool[2][WVK_CLASSES];  // [host][class] free lists
    uint64_t pooled_bytes, live_bytes, pool_cap;
    uint64_t staging_pending;              // bytes of staging copies in the batch being recorded
    uint64_t dispatches, submits;
#define WVK_DECLARE_MEMBER(name) PFN_##name name;
    WVK_DEVICE_FUNCTIONS(WVK_DECLARE_MEMBER)
#undef WVK_DECLARE_MEMBER
};

int wvk_fail(char *error, size_t size, const char *what, VkResult r);
int wvk_fail_text(char *error, size_t size, const char *text);
/// A buffer of the device pool (host = 0) or the staging pool (host = 1), `bytes` rounded up to its
/// size class when pooled.
struct wvk_buffer *wvk_acquire_locked(wvk_context *ctx, uint64_t bytes, int pooled, int host, char *error,
                                      size_t error_size);
/// Frees (or pools) the buffer now, or after the next submit when recorded work uses it.
void wvk_release_locked(wvk_context *ctx, struct wvk_buffer *b);
/// Gives the pooled free buffers back to the driver.
void wvk_trim_locked(wvk_context *ctx);
/// Recorded work uses the buffer (nothing is in flight between calls).
int wvk_busy(wvk_context *ctx, struct wvk_buffer *b);
/// Called with no pending work: the buffer goes back to its pool or is destroyed.
void wvk_recycle_locked(wvk_context *ctx, struct wvk_buffer *b);
/// Starts recording if needed; the barrier that orders every op after the previous ones.
int wvk_begin_locked(wvk_context *ctx, char *error, size_t error_size);
void wvk_barrier_between_ops(wvk_context *ctx);
/// Submits the recorded work, waits, then frees the buffers released meanwhile.
int wvk_flush_locked(wvk_context *ctx, char *error, size_t error_size);

#endif
