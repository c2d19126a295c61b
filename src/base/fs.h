/* SPDX-License-Identifier: MIT */
/* File-system helpers shared by the server and the store. */
#ifndef CLOVER_BASE_FS_H
#define CLOVER_BASE_FS_H

/*
 * Creates directory `dir` and every missing parent, private (mode 0700).
 * Returns 0, CLOVER_ETOOBIG for a path over 4095 bytes, or the CLOVER_E* code
 * of the failing mkdir(2) with errno left set for the message.
 */
int fs_mkdirs(const char *dir);

/* The same for the directories that would hold file `path` (not the file). */
int fs_mkdirs_for(const char *path);

#endif
