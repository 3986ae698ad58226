package PVE::CalendarEvent;

# Test double of pve-common's PVE::CalendarEvent (src/PVE/CalendarEvent.pm):
# parse_calendar_event($event) and compute_next_event($calspec, $last). The real module hands
# both to Proxmox::RS::CalendarEvent (proxmox-rs proxmox-time/src/calendar_event.rs) and works
# in the node's local time; this one uses the simulator's reading of the same format,
# PVE::Balancer::Sim::CalendarEvent, in UTC, the tests' local time (PVEBalancerTest::Env).
# Both die on an event they cannot read ("unable to parse calendar event - ...").

use strict;
use warnings;

use PVE::Balancer::Sim::CalendarEvent;

sub parse_calendar_event {
    my ($event) = @_;
    return PVE::Balancer::Sim::CalendarEvent::parse($event);
}

sub compute_next_event {
    my ($calspec, $last) = @_;
    return PVE::Balancer::Sim::CalendarEvent::next_event($calspec, $last);
}

1;
