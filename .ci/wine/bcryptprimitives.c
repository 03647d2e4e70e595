/* A stand-in for Windows' bcryptprimitives.dll, for running the connector under wine 8.0, which
 * lacks that DLL: the Rust standard library imports ProcessPrng from it for random numbers
 * (Windows 10 and later have it). It forwards to RtlGenRandom (advapi32's SystemFunction036),
 * which wine has. Built and placed in a test prefix by .ci/wine-e2e; never shipped. */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
