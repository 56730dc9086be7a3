/**
 * The public event-bus contract of the Sluice database proxy.
 *
 * <p>This package is everything a caller needs to talk to the proxy: the address, the action names, the header
 * names, the integer failure codes and the field names of every message. It is its own artifact ({@code contract}),
 * the only Sluice module the HTTP tier compiles against besides the config schema, and the only place where an
 * address or action is spelled (an architecture test in app checks the literals). Prose: {@code docs/event-bus.md}.
 */
package io.sluice.contract;
