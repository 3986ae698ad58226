package PVE::RESTEnvironment;

# Test double of pve-common's PVE::RESTEnvironment (src/PVE/RESTEnvironment.pm): the
# per-process environment singleton (init/get), the user and credentials of the request
# (get_credentials dies "credentials not set" unless given $noerr, like the real one),
# log_warn, fork_worker and check_worker.
#
# fork_worker really forks, as the real one does: the worker runs in a child process (setsid,
# $SIG{INT,TERM,QUIT} die "received interrupt", $SIG{CHLD} default, STDOUT/STDERR into the
# task log, "TASK OK" / "TASK WARNINGS: N" / "TASK ERROR: ..." as the last line). In a 'cli'
# environment (pvesh) without $background the parent waits for it (sync); in pvedaemon's
# ('priv') it returns the UPID at once. Nothing the child changes in memory reaches the
# parent: only files (the pmxcfs stand-in of the tests) and the simulated cluster, which plays
# the rest of the cluster and is handed back when the worker is reaped (wait_worker), as the
# cluster's real state would be there for the parent to read. check_worker answers from the
# task table and, with $killit, stops the task: for the worker process the real signal
# (SIGTERM to its process group, SIGKILL after the grace time), as pvedaemon does.

use strict;
use warnings;

use File::Temp qw(tempdir);
use POSIX ();
use Storable ();

use base 'Exporter';
our @EXPORT_OK = qw(log_warn);

my $env;
my $task_counter = 0;
my $log_dir;

our $kill_grace = 5; # seconds between SIGTERM and SIGKILL (pve-common: kill_process_group)

sub init {
    my ($class, $type, %params) = @_;

    $class = ref($class) || $class;
    die "unknown environment type '$type'\n" if !grep { $_ eq $type } qw(cli pub priv ha);

    $env = bless {
        type => $type,
        warning_count => 0,
        user => undef,
        credentials => undef,
        tasks => {},
        %params,
    }, $class;

    return $env;
}

sub get {
    return $env;
}

sub set_user {
    my ($self, $user) = @_;
    $self->{user} = $user;
}

sub get_user {
    my ($self, $noerr) = @_;

    return $self->{user} if defined($self->{user}) || $noerr;
    die "user name not set\n";
}

sub set_credentials {
    my ($self, $credentials) = @_;
    $self->{credentials} = $credentials;
}

sub get_credentials {
    my ($self, $noerr) = @_;

    return $self->{credentials} if defined($self->{credentials}) || $noerr;
    die "credentials not set\n";
}

sub is_worker {
    return $env && $env->{in_worker} ? 1 : 0;
}

sub log_warn {
    my ($message) = @_;

    $env->{warning_count}++ if $env;
    chomp $message;
    print STDERR "WARN: $message\n";
}

my sub sim {
    return eval { PVEBalancerTest::SimCluster->current() };
}

my sub nodename {
    my $sim = sim();
    return $sim ? $sim->{nodename} : 'localhost';
}

my sub log_file {
    my ($upid) = @_;

    $log_dir //= tempdir(CLEANUP => 1);
    my $name = $upid =~ s/[^A-Za-z0-9]/_/gr;
    return "$log_dir/$name";
}

sub fork_worker {
    my ($self, $dtype, $id, $user, $function, $background) = @_;

    $dtype //= 'unknown';
    $id //= '';
    $user //= $self->get_user(1) // 'root@pam';

    my $sync = ($self->{type} eq 'cli' && !$background) ? 1 : 0;

    my $sim = sim();
    my $now = $sim ? $sim->{time} : time();
    $task_counter++;
    my $state_file = $sim ? log_file("state-$task_counter") : undef;

    STDOUT->flush();
    STDERR->flush();
    my $cpid = fork();
    die "unable to fork worker - $!" if !defined($cpid);

    my $pstart = 1000 + $task_counter;
    my $upid = sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:",
        nodename(), $cpid || $$, $pstart, $now, $dtype, $id, $user);

    if (!$cpid) { # child
        $SIG{INT} = $SIG{QUIT} = $SIG{TERM} = sub { die "received interrupt\n"; };
        $SIG{CHLD} = $SIG{PIPE} = 'DEFAULT';
        POSIX::setsid();

        $self->{in_worker} = 1;
        $self->{warning_count} = 0;
        $sim->register_task($upid, running => 1, type => $dtype, pid => $$, worker => 1) if $sim;

        open(my $log, '>', log_file($upid)) or POSIX::_exit(1);
        $log->autoflush(1);
        open(STDOUT, '>&', $log) or POSIX::_exit(1);
        open(STDERR, '>&', $log) or POSIX::_exit(1);
        STDOUT->autoflush(1);
        STDERR->autoflush(1);
        $sim->{share_file} = $state_file if $sim;

        eval { $function->($upid) };
        my $err = $@;
        if ($err) {
            chomp $err;
            $err =~ s/\n/ /g;
            print "TASK ERROR: $err\n";
        } elsif (my $warnings = $self->{warning_count}) {
            print "TASK WARNINGS: $warnings\n";
        } else {
            print "TASK OK\n";
        }
        $sim->save_shared() if $sim;
        POSIX::_exit($err ? 255 : 0);
    }

    $self->{tasks}->{$upid} = { pid => $cpid, type => $dtype, id => $id, state_file => $state_file };
    $sim->register_task($upid, running => 1, type => $dtype, pid => $cpid, worker => 1) if $sim;

    $self->wait_worker($upid) if $sync;

    return $upid;
}

=head3 wait_worker($upid)

Test helper, what pvedaemon's SIGCHLD handler does: waits for the worker process to end, then
takes over the simulated cluster as the worker left it and marks the task ended with the
last line of its log (a killed worker: "unexpected status", as pvedaemon writes it). Returns
the task's status.

=cut

sub wait_worker {
    my ($self, $upid) = @_;

    my $task = $self->{tasks}->{$upid} or return undef;
    return $task->{status} if $task->{reaped};

    waitpid($task->{pid}, 0);
    $task->{reaped} = 1;

    my $sim = sim();
    $sim->load_shared($task->{state_file}) if $sim && $task->{state_file} && -e $task->{state_file};

    my $log = -e log_file($upid) ? PVE::Tools::file_get_contents(log_file($upid)) : '';
    my ($status) = $log =~ m/^TASK (OK|ERROR: .*|WARNINGS: \d+)$/m;
    $status =~ s/^ERROR: // if $status;
    $status //= 'unexpected status';
    $task->{status} = $status;
    $task->{log} = $log;
    $sim->finish_task($upid, $status) if $sim;
    return $status;
}

=head3 task_log($upid)

Test helper: the log of a worker started with fork_worker (waits for it to end).

=cut

sub task_log {
    my ($self, $upid) = @_;

    my $task = $self->{tasks}->{$upid} or return undef;
    $self->wait_worker($upid);
    return $task->{log};
}

sub check_worker {
    my ($class, $upid, $killit) = @_;

    my $sim = sim() or return 0;
    my $task = $sim->{tasks}->{$upid} or return 0;
    return 0 if !$task->{running};
    return 1 if !$killit;
    if ($task->{worker} && $task->{pid}) {
        kill('TERM', -$task->{pid});
    } else {
        $sim->stop_task($upid);
    }
    return 0;
}

1;
