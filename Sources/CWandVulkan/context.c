// One logical device: creation, the recording command buffer, pipelines and dispatch.
//
// Work is recorded into a single command buffer, with a global memory barrier after every dispatch
// and copy, and submitted (then waited for) only when the host needs data, when the descriptor
// pool runs out, or on wvk_flush. Nothing is in flight between calls, so a buffer is busy exactly
// when the batch being recorded uses it; freeing a busy buffer waits for the next submit.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wvk_context.h"

// MARK: recording

static void barrier(wvk_context *ctx, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
    VkMemoryBarrier m = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                         .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                         .dstAccessMask = dst_access};
    ctx->vkCmdPipelineBarrier(ctx->commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                              dst_stage, 0, 1, &m, 0, NULL, 0, NULL);
}

void wvk_barrier_between_ops(wvk_context *ctx) {
    barrier(ctx, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                VK_ACCESS_TRANSFER_WRITE_BIT);
}

int wvk_begin_locked(wvk_context *ctx, char *error, size_t error_size) {
    if (ctx->recording) return 0;
    VkCommandBufferBeginInfo info = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                     .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VkResult r = ctx->vkBeginCommandBuffer(ctx->commands, &info);
    if (r != VK_SUCCESS) return wvk_fail(error, error_size, "vkBeginCommandBuffer", r);
    ctx->recording = 1;
    return 0;
}

int wvk_flush_locked(wvk_context *ctx, char *error, size_t error_size) {
    int status = 0;
    if (ctx->recording) {
        barrier(ctx, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
        VkResult r = ctx->vkEndCommandBuffer(ctx->commands);
        if (r != VK_SUCCESS) status = wvk_fail(error, error_size, "vkEndCommandBuffer", r);
        if (status == 0) {
            VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
                                   .pCommandBuffers = &ctx->commands};
            r = ctx->vkQueueSubmit(ctx->queue, 1, &submit, ctx->fence);
            if (r != VK_SUCCESS) status = wvk_fail(error, error_size, "vkQueueSubmit", r);
        }
        if (status == 0) {
            r = ctx->vkWaitForFences(ctx->device, 1, &ctx->fence, VK_TRUE, UINT64_MAX);
            if (r != VK_SUCCESS) status = wvk_fail(error, error_size, "vkWaitForFences", r);
            ctx->vkResetFences(ctx->device, 1, &ctx->fence);
        }
        ctx->vkResetCommandBuffer(ctx->commands, 0);
        ctx->recording = 0;
        ctx->submits++;
    }
    ctx->batch++;
    ctx->staging_pending = 0;
    if (ctx->sets_used) {
        ctx->vkResetDescriptorPool(ctx->device, ctx->descriptor_pool, 0);
        ctx->sets_used = 0;
    }
    while (ctx->deferred) {
        struct wvk_buffer *b = ctx->deferred;
        ctx->deferred = b->next;
        b->next = NULL;
        wvk_recycle_locked(ctx, b);
    }
    return status;
}

// MARK: public API

wvk_context *wvk_context_create(int index, int force_staging, char *error, size_t error_size) {
    VkPhysicalDevice *devices;
    int n = wvk_physical_devices(&devices, error, error_size);
    if (n < 0) return NULL;
    if (n == 0) { wvk_fail_text(error, error_size, "no Vulkan device (the loader found no driver)"); return NULL; }
    if (index < 0 || index >= n) { wvk_fail_text(error, error_size, "no Vulkan device with that index"); return NULL; }
    wvk_context *ctx = calloc(1, sizeof *ctx);
    pthread_mutex_init(&ctx->lock, NULL);
    ctx->physical = devices[index];
    wvk_describe(ctx->physical, &ctx->info);
    ctx->force_staging = force_staging;
    ctx->map_device_buffers = ctx->info.unified_memory && !force_staging;
    ctx->batch = 1;
    uint64_t cap = ctx->info.device_local_bytes / 8;
    ctx->pool_cap = cap < (2ull << 30) ? cap : (2ull << 30);

    uint32_t families = 0;
    wvk_vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical, &families, NULL);
    VkQueueFamilyProperties *props = calloc(families ? families : 1, sizeof *props);
    wvk_vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical, &families, props);
    int family = -1;
    // Prefer a compute queue without graphics (async compute), else any compute queue.
    for (uint32_t i = 0; i < families && family < 0; i++)
        if ((props[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(props[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) family = (int)i;
    for (uint32_t i = 0; i < families && family < 0; i++)
        if (props[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = (int)i;
    free(props);
    if (family < 0) { free(ctx); wvk_fail_text(error, error_size, "the Vulkan device has no compute queue"); return NULL; }
    ctx->queue_family = (uint32_t)family;

    float priority = 1;
    VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                     .queueFamilyIndex = ctx->queue_family, .queueCount = 1,
                                     .pQueuePriorities = &priority};
    VkDeviceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
                               .pQueueCreateInfos = &queue};
    VkResult r = wvk_vkCreateDevice(ctx->physical, &info, NULL, &ctx->device);
    if (r != VK_SUCCESS) { free(ctx); wvk_fail(error, error_size, "vkCreateDevice", r); return NULL; }
#define WVK_LOAD_DEVICE(name) ctx->name = (PFN_##name)wvk_vkGetDeviceProcAddr(ctx->device, #name);
    WVK_DEVICE_FUNCTIONS(WVK_LOAD_DEVICE)
#undef WVK_LOAD_DEVICE
    ctx->vkGetDeviceQueue(ctx->device, ctx->queue_family, 0, &ctx->queue);

    VkCommandPoolCreateInfo pool = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                    .queueFamilyIndex = ctx->queue_family};
    VkCommandBufferAllocateInfo cb = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkDescriptorPoolSize sizes = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                  .descriptorCount = WVK_SETS_PER_POOL * WVK_MAX_BINDINGS};
    VkDescriptorPoolCreateInfo dp = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                     .maxSets = WVK_SETS_PER_POOL, .poolSizeCount = 1, .pPoolSizes = &sizes};
    if ((r = ctx->vkCreateCommandPool(ctx->device, &pool, NULL, &ctx->command_pool)) != VK_SUCCESS ||
        (cb.commandPool = ctx->command_pool,
         (r = ctx->vkAllocateCommandBuffers(ctx->device, &cb, &ctx->commands)) != VK_SUCCESS) ||
        (r = ctx->vkCreateFence(ctx->device, &fence, NULL, &ctx->fence)) != VK_SUCCESS ||
        (r = ctx->vkCreateDescriptorPool(ctx->device, &dp, NULL, &ctx->descriptor_pool)) != VK_SUCCESS) {
        wvk_fail(error, error_size, "creating the command pool, fence or descriptor pool", r);
        wvk_context_destroy(ctx);
        return NULL;
    }
    for (uint32_t n_bind = 0; n_bind <= WVK_MAX_BINDINGS; n_bind++) {
        VkDescriptorSetLayoutBinding bindings[WVK_MAX_BINDINGS];
        for (uint32_t i = 0; i < n_bind; i++)
            bindings[i] = (VkDescriptorSetLayoutBinding){.binding = i, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                                         .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
        VkDescriptorSetLayoutCreateInfo sl = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                              .bindingCount = n_bind, .pBindings = bindings};
        VkPushConstantRange push = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = WVK_PUSH_BYTES};
        if ((r = ctx->vkCreateDescriptorSetLayout(ctx->device, &sl, NULL, &ctx->set_layouts[n_bind])) != VK_SUCCESS) {
            wvk_fail(error, error_size, "vkCreateDescriptorSetLayout", r);
            wvk_context_destroy(ctx);
            return NULL;
        }
        VkPipelineLayoutCreateInfo pl = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                         .pSetLayouts = &ctx->set_layouts[n_bind], .pushConstantRangeCount = 1,
                                         .pPushConstantRanges = &push};
        if ((r = ctx->vkCreatePipelineLayout(ctx->device, &pl, NULL, &ctx->pipeline_layouts[n_bind])) != VK_SUCCESS) {
            wvk_fail(error, error_size, "vkCreatePipelineLayout", r);
            wvk_context_destroy(ctx);
            return NULL;
        }
    }
    return ctx;
}

void wvk_context_destroy(wvk_context *ctx) {
    if (!ctx) return;
    if (ctx->device) {
        char ignored[64];
        wvk_flush_locked(ctx, ignored, sizeof ignored);
        ctx->vkDeviceWaitIdle(ctx->device);
        wvk_trim_locked(ctx);
        for (struct wvk_pipeline *p = ctx->pipelines; p;) {
            struct wvk_pipeline *next = p->next;
            ctx->vkDestroyPipeline(ctx->device, p->pipeline, NULL);
            free(p);
            p = next;
        }
        for (int i = 0; i <= WVK_MAX_BINDINGS; i++) {
            if (ctx->pipeline_layouts[i]) ctx->vkDestroyPipelineLayout(ctx->device, ctx->pipeline_layouts[i], NULL);
            if (ctx->set_layouts[i]) ctx->vkDestroyDescriptorSetLayout(ctx->device, ctx->set_layouts[i], NULL);
        }
        if (ctx->descriptor_pool) ctx->vkDestroyDescriptorPool(ctx->device, ctx->descriptor_pool, NULL);
        if (ctx->fence) ctx->vkDestroyFence(ctx->device, ctx->fence, NULL);
        if (ctx->command_pool) ctx->vkDestroyCommandPool(ctx->device, ctx->command_pool, NULL);
        ctx->vkDestroyDevice(ctx->device, NULL);
    }
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

void wvk_context_info(wvk_context *ctx, wvk_device_info *info) { *info = ctx->info; }

wvk_pipeline *wvk_pipeline_create(wvk_context *ctx, const uint32_t *code, size_t words, uint32_t bindings,
                                  char *error, size_t error_size) {
    if (bindings > WVK_MAX_BINDINGS) { wvk_fail_text(error, error_size, "too many buffer bindings"); return NULL; }
    pthread_mutex_lock(&ctx->lock);
    wvk_pipeline *out = NULL;
    VkShaderModuleCreateInfo sm = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = words * 4, .pCode = code};
    VkShaderModule module;
    VkResult r = ctx->vkCreateShaderModule(ctx->device, &sm, NULL, &module);
    if (r != VK_SUCCESS) {
        wvk_fail(error, error_size, "vkCreateShaderModule", r);
    } else {
        VkComputePipelineCreateInfo info = {
            .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
            .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                      .module = module, .pName = "main"},
            .layout = ctx->pipeline_layouts[bindings]};
        VkPipeline pipeline;
        r = ctx->vkCreateComputePipelines(ctx->device, VK_NULL_HANDLE, 1, &info, NULL, &pipeline);
        ctx->vkDestroyShaderModule(ctx->device, module, NULL);
        if (r != VK_SUCCESS) {
            wvk_fail(error, error_size, "vkCreateComputePipelines", r);
        } else {
            out = calloc(1, sizeof *out);
            out->pipeline = pipeline;
            out->bindings = bindings;
            out->next = ctx->pipelines;
            ctx->pipelines = out;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return out;
}

int wvk_dispatch(wvk_context *ctx, wvk_pipeline *p, wvk_buffer *const *buffers, uint32_t count, const void *push,
                 uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz, char *error, size_t error_size) {
    if (count != p->bindings) return wvk_fail_text(error, error_size, "wrong number of buffers for the pipeline");
    if (push_bytes > WVK_PUSH_BYTES) return wvk_fail_text(error, error_size, "push constants over 128 bytes");
    for (uint32_t i = 0; i < count; i++) {
        if (buffers[i]->requested > ctx->info.max_storage_buffer_range) {
            if (error && error_size)
                snprintf(error, error_size, "a buffer of %llu bytes exceeds this device's maxStorageBufferRange (%llu)",
                         (unsigned long long)buffers[i]->requested, (unsigned long long)ctx->info.max_storage_buffer_range);
            return -1;
        }
    }
    if (gx == 0 || gy == 0 || gz == 0) return 0;
    pthread_mutex_lock(&ctx->lock);
    int status = 0;
    if (ctx->sets_used == WVK_SETS_PER_POOL) status = wvk_flush_locked(ctx, error, error_size);
    if (status == 0) status = wvk_begin_locked(ctx, error, error_size);
    VkDescriptorSet set = VK_NULL_HANDLE;
    if (status == 0) {
        VkDescriptorSetAllocateInfo a = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                         .descriptorPool = ctx->descriptor_pool, .descriptorSetCount = 1,
                                         .pSetLayouts = &ctx->set_layouts[count]};
        VkResult r = ctx->vkAllocateDescriptorSets(ctx->device, &a, &set);
        if (r != VK_SUCCESS) status = wvk_fail(error, error_size, "vkAllocateDescriptorSets", r);
        else ctx->sets_used++;
    }
    if (status == 0) {
        VkDescriptorBufferInfo infos[WVK_MAX_BINDINGS];
        VkWriteDescriptorSet writes[WVK_MAX_BINDINGS];
        for (uint32_t i = 0; i < count; i++) {
            uint64_t range = buffers[i]->size < ctx->info.max_storage_buffer_range ? buffers[i]->size
                                                                                   : ctx->info.max_storage_buffer_range;
            infos[i] = (VkDescriptorBufferInfo){.buffer = buffers[i]->buffer, .offset = 0, .range = range};
            writes[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set,
                                               .dstBinding = i, .descriptorCount = 1,
                                               .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                               .pBufferInfo = &infos[i]};
            buffers[i]->used_batch = ctx->batch;
        }
        if (count) ctx->vkUpdateDescriptorSets(ctx->device, count, writes, 0, NULL);
        ctx->vkCmdBindPipeline(ctx->commands, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
        ctx->vkCmdBindDescriptorSets(ctx->commands, VK_PIPELINE_BIND_POINT_COMPUTE, ctx->pipeline_layouts[count], 0, 1,
                                     &set, 0, NULL);
        if (push_bytes)
            ctx->vkCmdPushConstants(ctx->commands, ctx->pipeline_layouts[count], VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                    push_bytes, push);
        ctx->vkCmdDispatch(ctx->commands, gx, gy, gz);
        wvk_barrier_between_ops(ctx);
        ctx->dispatches++;
    }
    pthread_mutex_unlock(&ctx->lock);
    return status;
}

int wvk_flush(wvk_context *ctx, char *error, size_t error_size) {
    pthread_mutex_lock(&ctx->lock);
    int status = wvk_flush_locked(ctx, error, error_size);
    pthread_mutex_unlock(&ctx->lock);
    return status;
}

