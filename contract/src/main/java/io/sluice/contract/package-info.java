/**
 * The public event-bus contract of the Sluice database proxy.
 *
 * <p>This package is everything a caller needs to talk to the proxy: the address, the action names, the header
 * names, the integer failure codes and the field names of every message. It is the only part of proxy-module the
 * HTTP tier may import (an ArchUnit test enforces it), and the only place where an address or action is spelled.
 */
package io.sluice.contract;
