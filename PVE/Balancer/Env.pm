package PVE::Balancer::Env;

# The environment of the balancer: every impure operation (time, sleeping, logging, reading the
# cluster state, files and locks in pmxcfs, starting and watching migrations, HA commands) goes
# through an object of this class. It forwards to a backend, the "plug":
#
#   PVE::Balancer::Env::PVE2   the real cluster (in-process PVE::Cluster, API handlers, pmxcfs)
#   tests/perl/lib/...          a simulated cluster with a fake clock, for the tests
#
# The executor and the API handlers only talk to this object, the same idea as
# PVE::HA::Env in pve-ha-manager, so the same code runs in production and in the tests. It
# needs no request: in pve-balancerd (no RPC environment) migrations of other nodes go through
# the local API with root's service credentials.

use strict;
use warnings;

# The backend used by default_env(); tests point it at their simulated environment.
our $default_plug = 'PVE::Balancer::Env::PVE2';
our $default_args = {};

=head3 new($class, $baseclass, %args)

Creates an environment around a new C<$baseclass> object (built with C<%args>).

=cut

sub new {
    my ($this, $baseclass, %args) = @_;

    my $class = ref($this) || $this;

    my $file = $baseclass =~ s|::|/|gr . '.pm';
    require $file if !$INC{$file} && !$baseclass->can('new');

    my $plug = $baseclass->new(%args);

    return bless { plug => $plug }, $class;
}

=head3 default_env(%args)

An environment with the default backend (the real cluster, unless a test changed
C<$PVE::Balancer::Env::default_plug>).

=cut

sub default_env {
    my ($class, %args) = @_;

    return $class->new($default_plug, %$default_args, %args);
}

=head3 plug()

The backend object.

=cut

sub plug {
    my ($self) = @_;
    return $self->{plug};
}

=head3 nodename()

The name of the node this code runs on.

=cut

sub nodename {
    my ($self) = @_;
    return $self->{plug}->nodename();
}

=head3 get_time()

The current time in seconds since the epoch.

=cut

sub get_time {
    my ($self) = @_;
    return $self->{plug}->get_time();
}

=head3 sleep($seconds)

Waits C<$seconds>.

=cut

sub sleep {
    my ($self, $seconds) = @_;
    return $self->{plug}->sleep($seconds);
}

=head3 log($level, $msg)

Writes a line to the task log. C<$level> is C<info> or C<warn> (counted as a task warning).

=cut

sub log {
    my ($self, $level, $msg) = @_;

    chomp $msg;
    return $self->{plug}->log($level, $msg);
}

=head3 cluster_inputs(%opts)

The raw cluster state as PVE::Balancer::State::read_inputs() returns it. C<rrd_window>
(minutes, 0 to skip RRD history) is the only option.

=cut

sub cluster_inputs {
    my ($self, %opts) = @_;
    return $self->{plug}->cluster_inputs(%opts);
}

=head3 read_cfs_file($relpath)

The content of C<$relpath> below /etc/pve, or undef if it does not exist.

=cut

sub read_cfs_file {
    my ($self, $relpath) = @_;
    return $self->{plug}->read_cfs_file($relpath);
}

=head3 write_cfs_file($relpath, $data)

Writes C<$data> to C<$relpath> below /etc/pve, creating the parent directory.

=cut

sub write_cfs_file {
    my ($self, $relpath, $data) = @_;
    return $self->{plug}->write_cfs_file($relpath, $data);
}

=head3 delete_cfs_file($relpath)

Removes C<$relpath> below /etc/pve if it exists.

=cut

sub delete_cfs_file {
    my ($self, $relpath) = @_;
    return $self->{plug}->delete_cfs_file($relpath);
}

=head3 cfs_lock($name, $timeout, $code)

Runs C<$code> while holding the cluster-wide lock C<$name>. Meant for short critical sections
(pmxcfs locks expire after 120 seconds); dies if the lock cannot be had or C<$code> dies.

=cut

sub cfs_lock {
    my ($self, $name, $timeout, $code) = @_;
    return $self->{plug}->cfs_lock($name, $timeout, $code);
}

=head3 migrate_guest($guest, $target, $params)

Starts the migration of C<$guest> (C<{vmid, type, node}>) to C<$target> with the API
parameters C<$params> (C<online>, C<with-local-disks>, C<restart>, ...). Returns a task
handle C<{upid, node}> for task_status() and stop_task().

=cut

sub migrate_guest {
    my ($self, $guest, $target, $params) = @_;
    return $self->{plug}->migrate_guest($guest, $target, $params);
}

=head3 task_status($task)

C<{running => 1}> while the task runs, else C<{running => 0, exitstatus => 'OK' | error}>.

=cut

sub task_status {
    my ($self, $task) = @_;
    return $self->{plug}->task_status($task);
}

=head3 stop_task($task)

Asks the task to stop (a running live migration is cancelled, the guest stays on its source).

=cut

sub stop_task {
    my ($self, $task) = @_;
    return $self->{plug}->stop_task($task);
}

=head3 ha_migrate($sid, $target)

Queues the HA CRM command C<migrate $sid $target>.

=cut

sub ha_migrate {
    my ($self, $sid, $target) = @_;
    return $self->{plug}->ha_migrate($sid, $target);
}

=head3 ha_manager_status()

The HA manager status (C<service_status>, C<node_status>, ...).

=cut

sub ha_manager_status {
    my ($self) = @_;
    return $self->{plug}->ha_manager_status();
}

=head3 ha_commands_pending()

True while queued CRM commands wait for the HA manager.

=cut

sub ha_commands_pending {
    my ($self) = @_;
    return $self->{plug}->ha_commands_pending();
}

=head3 guest_nodes()

The node of every guest right now (vmid => node), from the cluster's guest list.

=cut

sub guest_nodes {
    my ($self) = @_;
    return $self->{plug}->guest_nodes();
}

=head3 migration_running($m)

True while the migration C<$m> (C<vmid>, C<type>, C<from>, C<to>, C<ha>, C<upid>,
C<task-node>), started earlier, possibly by a run that has ended, still runs: its task runs,
or for an HA migration the CRM command is queued or the service is in C<migrate> or
C<relocate>. Dies if it cannot be told.

=cut

sub migration_running {
    my ($self, $m) = @_;
    return $self->{plug}->migration_running($m);
}

=head3 quorate()

True if this node is part of the quorate partition (pmxcfs is writable).

=cut

sub quorate {
    my ($self) = @_;
    return $self->{plug}->quorate();
}

=head3 local_time($epoch)

The local time of C<$epoch> on this node, broken down: C<{year, mon (1-12), mday, wday (0 =
Sunday), hour, min, date (YYYY-MM-DD)}>. Balancing windows and backup schedules are local
times, as Proxmox's job schedules are.

=cut

sub local_time {
    my ($self, $epoch) = @_;
    return $self->{plug}->local_time($epoch);
}

=head3 next_calendar_event($schedule, $after)

The first time after C<$after> (epoch seconds) at which the calendar event C<$schedule> (the
format of Proxmox job schedules, PVE::CalendarEvent) is due, or undef if never. Dies if the
schedule cannot be read.

=cut

sub next_calendar_event {
    my ($self, $schedule, $after) = @_;
    return $self->{plug}->next_calendar_event($schedule, $after);
}

=head3 notify($severity, $template, $data, $fields)

Sends a notification through Proxmox's notification system (PVE::Notify: the targets and
matchers configured under Datacenter -> Notifications): C<$severity> (C<info>, C<notice>,
C<warning>, C<error>), the template name, the template data and the metadata fields matchers
can match on. Never dies; a failure is logged.

=cut

sub notify {
    my ($self, $severity, $template, $data, $fields) = @_;
    return $self->{plug}->notify($severity, $template, $data, $fields);
}

=head3 daemon_local_status()

The local status of pve-balancerd on this node (/run/pve-balancerd/status.json, see
docs/daemon.md), decoded, with C<stale> set when the daemon that wrote it does not run; undef
when there is none.

=cut

sub daemon_local_status {
    my ($self) = @_;
    return $self->{plug}->daemon_local_status();
}

=head3 task_alive($upid)

True if the task C<$upid> still runs (used to tell a live run lease from a stale one).
Undef when it cannot be told (task of another node).

=cut

sub task_alive {
    my ($self, $upid) = @_;
    return $self->{plug}->task_alive($upid);
}

1;
