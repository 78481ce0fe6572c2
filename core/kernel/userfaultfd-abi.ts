/**
 * userfaultfd ABI (include/uapi/linux/userfaultfd.h), x86_64 numbers, written out once.
 */
export const SYS_userfaultfd = 323;
export const SYS_pidfd_open = 434;
export const SYS_pidfd_getfd = 438;

export const UFFD_USER_MODE_ONLY = 1;
export const UFFD_API = 0xaa;

export const UFFD_FEATURE_WP_HUGETLBFS_SHMEM = 1 << 12;
export const UFFD_FEATURE_WP_UNPOPULATED = 1 << 13;
export const UFFD_FEATURE_WP_ASYNC = 1 << 15;

/** _IOWR(0xAA, 0x3F, struct uffdio_api { u64 api, features, ioctls; }) */
export const UFFDIO_API = 0xc018aa3f;
/** _IOWR(0xAA, 0x00, struct uffdio_register { struct uffdio_range { u64 start, len; } range; u64 mode, ioctls; }) */
export const UFFDIO_REGISTER = 0xc020aa00;
/** _IOR(0xAA, 0x01, struct uffdio_range) */
export const UFFDIO_UNREGISTER = 0x8010aa01;
/** _IOWR(0xAA, 0x06, struct uffdio_writeprotect { struct uffdio_range range; u64 mode; }) */
export const UFFDIO_WRITEPROTECT = 0xc018aa06;

export const UFFDIO_REGISTER_MODE_MISSING = 1 << 0;
export const UFFDIO_REGISTER_MODE_WP = 1 << 1;
export const UFFDIO_WRITEPROTECT_MODE_WP = 1 << 0;
