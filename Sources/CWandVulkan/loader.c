// The Vulkan loader, opened with dlopen, the process's one instance and the physical devices.
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wvk_internal.h"

#define WVK_DEFINE(name) PFN_##name wvk_##name = NULL;
WVK_GLOBAL_FUNCTIONS(WVK_DEFINE)
WVK_INSTANCE_FUNCTIONS(WVK_DEFINE)
#undef WVK_DEFINE

static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;
static void *library = NULL;
static PFN_vkGetInstanceProcAddr get_instance_proc = NULL;
static VkInstance instance = VK_NULL_HANDLE;
static VkPhysicalDevice *physical = NULL;
static int physical_count = -1;
static char loader_error[512];

const char *wvk_result_name(VkResult r) {
    switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER (no Vulkan driver found)";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    default: return "VkResult error";
    }
}

void wvk_set_error(char *error, size_t size, const char *what, VkResult r) {
    if (error && size) snprintf(error, size, "%s failed: %s (%d)", what, wvk_result_name(r), (int)r);
}

static void copy_error(char *error, size_t size, const char *text) {
    if (error && size) snprintf(error, size, "%s", text);
}

int wvk_open_loader(char *error, size_t error_size) {
    pthread_mutex_lock(&loader_lock);
    if (!library) {
        // libvulkan.so.1 is the loader's soname; the unversioned name exists only with -dev packages.
        const char *names[] = {"libvulkan.so.1", "libvulkan.so"};
        for (int i = 0; i < 2 && !library; i++) library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!library) {
            const char *why = dlerror();
            snprintf(loader_error, sizeof loader_error,
                     "the Vulkan loader libvulkan.so.1 could not be opened (%s); install libvulkan1 and a driver",
                     why ? why : "not found");
        } else {
            get_instance_proc = (PFN_vkGetInstanceProcAddr)dlsym(library, "vkGetInstanceProcAddr");
            if (!get_instance_proc) {
                snprintf(loader_error, sizeof loader_error, "libvulkan.so.1 has no vkGetInstanceProcAddr");
                dlclose(library);
                library = NULL;
            } else {
#define WVK_LOAD(name) wvk_##name = (PFN_##name)get_instance_proc(VK_NULL_HANDLE, #name);
                WVK_GLOBAL_FUNCTIONS(WVK_LOAD)
#undef WVK_LOAD
            }
        }
    }
    int ok = library != NULL;
    if (!ok) copy_error(error, error_size, loader_error);
    pthread_mutex_unlock(&loader_lock);
    return ok ? 0 : -1;
}

// Called with loader_lock held.
static int create_instance(char *error, size_t error_size) {
    if (instance) return 0;
    if (!wvk_vkCreateInstance) {
        copy_error(error, error_size, "vkCreateInstance is missing from the Vulkan loader");
        return -1;
    }
    uint32_t version = VK_API_VERSION_1_0;
    if (wvk_vkEnumerateInstanceVersion) wvk_vkEnumerateInstanceVersion(&version);
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "wand",
                             .pEngineName = "wand", .apiVersion = version >= VK_API_VERSION_1_1 ? VK_API_VERSION_1_1 : VK_API_VERSION_1_0};
    VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    VkResult r = wvk_vkCreateInstance(&info, NULL, &instance);
    if (r != VK_SUCCESS) {
        instance = VK_NULL_HANDLE;
        wvk_set_error(error, error_size, "vkCreateInstance", r);
        return -1;
    }
#define WVK_LOAD(name) wvk_##name = (PFN_##name)get_instance_proc(instance, #name);
    WVK_INSTANCE_FUNCTIONS(WVK_LOAD)
#undef WVK_LOAD
    uint32_t n = 0;
    r = wvk_vkEnumeratePhysicalDevices(instance, &n, NULL);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        wvk_set_error(error, error_size, "vkEnumeratePhysicalDevices", r);
        return -1;
    }
    physical = calloc(n ? n : 1, sizeof(VkPhysicalDevice));
    r = wvk_vkEnumeratePhysicalDevices(instance, &n, physical);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        wvk_set_error(error, error_size, "vkEnumeratePhysicalDevices", r);
        return -1;
    }
    physical_count = (int)n;
    return 0;
}

VkInstance wvk_instance(char *error, size_t error_size) {
    if (wvk_open_loader(error, error_size) != 0) return VK_NULL_HANDLE;
    pthread_mutex_lock(&loader_lock);
    int r = create_instance(error, error_size);
    VkInstance out = r == 0 ? instance : VK_NULL_HANDLE;
    pthread_mutex_unlock(&loader_lock);
    return out;
}

int wvk_physical_devices(VkPhysicalDevice **devices, char *error, size_t error_size) {
    if (!wvk_instance(error, error_size)) return -1;
    *devices = physical;
    return physical_count;
}

int wvk_device_count(char *error, size_t error_size) {
    VkPhysicalDevice *devices;
    return wvk_physical_devices(&devices, error, error_size);
}

void wvk_describe(VkPhysicalDevice device, wvk_device_info *info) {
    memset(info, 0, sizeof *info);
    VkPhysicalDeviceProperties p;
    wvk_vkGetPhysicalDeviceProperties(device, &p);
    snprintf(info->name, sizeof info->name, "%s", p.deviceName);
    info->type = (int32_t)p.deviceType;
    info->vendor_id = p.vendorID;
    info->device_id = p.deviceID;
    info->api_version = p.apiVersion;
    info->max_shared_memory = p.limits.maxComputeSharedMemorySize;
    info->max_storage_buffer_range = p.limits.maxStorageBufferRange;
    info->max_workgroup_count_x = p.limits.maxComputeWorkGroupCount[0];
    info->push_constant_bytes = p.limits.maxPushConstantsSize;
    info->subgroup_size = 1;
    if (p.apiVersion >= VK_API_VERSION_1_1 && wvk_vkGetPhysicalDeviceProperties2) {
        VkPhysicalDeviceSubgroupProperties sub = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
        VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sub};
        wvk_vkGetPhysicalDeviceProperties2(device, &p2);
        info->subgroup_size = sub.subgroupSize;
    }
    VkPhysicalDeviceMemoryProperties m;
    wvk_vkGetPhysicalDeviceMemoryProperties(device, &m);
    int shared_type = 0;
    for (uint32_t h = 0; h < m.memoryHeapCount; h++) {
        if ((m.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && m.memoryHeaps[h].size > info->device_local_bytes)
            info->device_local_bytes = m.memoryHeaps[h].size;
    }
    const VkMemoryPropertyFlags shared = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                         VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    for (uint32_t t = 0; t < m.memoryTypeCount; t++)
        if ((m.memoryTypes[t].propertyFlags & shared) == shared) shared_type = 1;
    // A discrete GPU's host-visible device memory is a small BAR window (or all of it with
    // resizable BAR): staging copies are the portable choice there.
    info->unified_memory = shared_type && (p.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ||
                                           p.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU);
    uint32_t n = 0;
    wvk_vkEnumerateDeviceExtensionProperties(device, NULL, &n, NULL);
    VkExtensionProperties *ext = calloc(n ? n : 1, sizeof *ext);
    wvk_vkEnumerateDeviceExtensionProperties(device, NULL, &n, ext);
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(ext[i].extensionName, "VK_NV_cooperative_matrix") == 0) info->nv_cooperative_matrix = 1;
    free(ext);
}

int wvk_device_info_at(int index, wvk_device_info *info, char *error, size_t error_size) {
    VkPhysicalDevice *devices;
    int n = wvk_physical_devices(&devices, error, error_size);
    if (n < 0) return -1;
    if (index < 0 || index >= n) {
        if (error && error_size) snprintf(error, error_size, "Vulkan device %d does not exist (%d found)", index, n);
        return -1;
    }
    wvk_describe(devices[index], info);
    return 0;
}
