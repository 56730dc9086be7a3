/**
 * A typed client of the database proxy's event-bus contract, for event-bus callers in any process of the cluster (or
 * in the proxy's own process): {@link io.sluice.contract.client.SluiceClient}.
 *
 * <p>It builds the messages, sets the contract's headers and the send timeout from the caller's deadline
 * ({@link io.sluice.contract.CallBudget}, as the HTTP tier does), turns replies into small records and every failure
 * into a {@link io.sluice.contract.client.SluiceException} carrying a {@link io.sluice.contract.FailureCode}. The
 * public API is this package; {@code impl} is not. Prose: {@code docs/event-bus.md#typed-client}.
 */
package io.sluice.contract.client;
