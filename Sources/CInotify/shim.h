#include <inotifytools/inotifytools.h>
#include <sys/inotify.h>
#include <sys/vfs.h>
